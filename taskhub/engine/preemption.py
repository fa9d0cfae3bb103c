"""Checkpoints inside an epoch: ``trainer.checkpoint_every`` and SIGTERM (preemption).

Both act at an optimizer-step boundary. ``checkpoint_every=500`` writes ``last.pt`` every 500
optimizer steps, ``checkpoint_every=10m`` every ten minutes. SIGTERM (what SLURM, Kubernetes
and spot machines send before killing) writes ``last.pt`` at the next step boundary, prints
one line and exits with status :data:`EXIT_PREEMPTED` (75, ``EX_TEMPFAIL``: "try again") so a
scheduler can requeue; ``trainer.resume=auto`` then continues mid-epoch, exactly: the epoch's
batch order is seeded by the epoch, the finished steps are replayed through the data pipeline
without training (so random augmentations draw the same numbers), and the random-number state
of the moment of the checkpoint is restored before the next step. A second SIGTERM kills at once.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import Any

import torch

from taskhub.engine import checkpoint, distributed
from taskhub.engine.budget import parse_duration
from taskhub.errors import UserError

log = logging.getLogger("taskhub")

#: The exit status after a SIGTERM that saved a resumable checkpoint (sysexits' EX_TEMPFAIL).
EXIT_PREEMPTED = 75
SETTING = "trainer.checkpoint_every"


class Preempted(SystemExit):
    """Raised after SIGTERM once the resumable checkpoint is written: the process exits with
    :data:`EXIT_PREEMPTED` unless the caller catches it (``taskhub.run`` lets it through)."""

    def __init__(self, message: str) -> None:
        super().__init__(EXIT_PREEMPTED)
        self.message = message

    def __str__(self) -> str:
        return self.message


def parse_every(value: Any) -> tuple[int | None, float | None]:
    """``trainer.checkpoint_every`` as (optimizer steps, seconds); (None, None) when unset."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null", "none")):
        return None, None
    text = str(value).strip().lower()
    if isinstance(value, bool):
        raise UserError(f"{SETTING}={value}: give a number of optimizer steps (500) or a duration (10m)")
    if isinstance(value, int) or text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
        steps = int(text)
        if steps < 1:
            raise UserError(f"{SETTING}={value}: give at least 1 step, or a duration such as 10m")
        return steps, None
    if text.endswith("steps") and text[:-5].strip().isdigit():
        return parse_every(text[:-5].strip())
    try:
        seconds = parse_duration(value, SETTING)
    except UserError:
        raise UserError(f"{SETTING}={value}: give a number of optimizer steps (500) or a duration "
                        f"(90s, 10m, 1h)") from None
    return None, seconds


def restore_partial(run: Any, ckpt: dict[str, Any]) -> None:
    """On resume: remember where in its epoch a mid-epoch checkpoint was taken, and the random
    state to restore once the finished steps are replayed."""
    partial = ckpt.get("partial")
    if partial:
        run.state["_partial"] = {**partial, "rng": ckpt.get("rng"), "cuda_rng": ckpt.get("cuda_rng")}
    if ckpt.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(ckpt["cuda_rng"])


_KEY = "_step_checkpoints"


def active(run: Any) -> StepCheckpoints:
    """The fit's :class:`StepCheckpoints` (one without a SIGTERM handler when fit runs outside one)."""
    found = run.state.get(_KEY)
    if found is None:
        found = run.state[_KEY] = StepCheckpoints(run)
    return found


class StepCheckpoints:
    """The loop's mid-epoch checkpoints and SIGTERM handling (a context manager around ``fit``)."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.every_steps, self.every_seconds = parse_every(run.cfg.trainer.get("checkpoint_every"))
        self.last_save = time.monotonic()
        self.sigterm = False
        self._previous: Any = None
        self._installed = False
        self._resume: dict[str, Any] | None = run.state.pop("_partial", None)
        self._processes = distributed.world_size()  # read once: step_done runs after every step

    def __enter__(self) -> StepCheckpoints:
        self.run.state[_KEY] = self
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
            self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.run.state.pop(_KEY, None)
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous if self._previous is not None else signal.SIG_DFL)
            self._installed = False

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        self.sigterm = True
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM: no more waiting

    # --- resuming mid-epoch ---------------------------------------------------------------
    def start(self, epoch: int, device: torch.device) -> tuple[int, torch.Tensor, int]:
        """(steps already done, loss sum, samples) of ``epoch`` from a mid-epoch checkpoint, else zeros."""
        resume = self._resume
        if resume and int(resume.get("epoch", -1)) == epoch:
            log.info("resuming epoch %d after step %d", epoch, resume["step"])
            if not distributed.is_main():  # rank 0 carries the epoch's sums so far (of every process)
                return int(resume["step"]), torch.zeros((), device=device), 0
            return int(resume["step"]), resume["loss_sum"].to(device), int(resume["samples"])
        self._resume = None
        return 0, torch.zeros((), device=device), 0

    def replayed(self, step: int, skip: int) -> None:
        """After replaying step ``step`` of ``skip`` without training: at the last one, restore the
        random state of the moment the checkpoint was taken."""
        if step == skip and self._resume is not None:
            if isinstance(self._resume.get("rng"), torch.Tensor):
                torch.set_rng_state(self._resume["rng"])
            if self._resume.get("cuda_rng") is not None and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(self._resume["cuda_rng"])
            self._resume = None

    # --- at step and epoch boundaries -----------------------------------------------------
    def step_done(self, epoch: int, step: int, total_steps: int, loss_sum: torch.Tensor, samples: int) -> None:
        """After an optimizer step: write a mid-epoch checkpoint when one is due or SIGTERM came
        (then exit with :data:`EXIT_PREEMPTED`). The epoch's last step is left to the epoch end."""
        if step >= total_steps:
            return
        due = bool(self.every_steps) and self.run.global_step % self.every_steps == 0
        timed = self.every_seconds is not None and time.monotonic() - self.last_save >= self.every_seconds
        if self._processes <= 1 and not (due or timed or self.sigterm):
            return  # the common step: nothing to save, no peer to agree with
        stop, timed = self._agree(self.sigterm, timed)
        if not (due or timed or stop):
            return
        if distributed.world_size() > 1:  # the sums of every process, carried by rank 0 on resume
            totals = distributed.all_reduce_sum(torch.stack([loss_sum.detach().float(),
                                                             torch.tensor(float(samples), device=loss_sum.device)]))
            loss_sum, samples = totals[0], int(totals[1].item())
        self.run.state["_partial"] = {"epoch": epoch, "step": step, "loss_sum": loss_sum.detach().float().cpu(),
                                      "samples": int(samples)}
        try:
            path = self._save()
        finally:
            self.run.state.pop("_partial", None)
        if stop:
            self._exit(path, f"epoch {epoch}, step {step} of {total_steps}")

    def epoch_saved(self, epoch: int) -> None:
        """After the epoch-end checkpoints: a SIGTERM that came during validation exits here."""
        self.last_save = time.monotonic()
        stop, _ = self._agree(self.sigterm, False)
        if stop:
            self._exit(self.run.checkpoint_dir / "last.pt", f"the end of epoch {epoch}")

    def _save(self):
        path = self.run.checkpoint_dir / "last.pt"
        if self.run.is_main:
            from taskhub.plugins import get_host

            get_host().hook.on_checkpoint(run=self.run, path=checkpoint.save(self.run, path), best=False)
        self.last_save = time.monotonic()
        return path

    def _exit(self, path: Any, where: str) -> None:
        message = (f"preempted (SIGTERM): saved a resumable checkpoint at {where} in {path}; continue with "
                   f"trainer.resume=auto (exit status {EXIT_PREEMPTED})")
        if self.run.is_main:
            print(message, file=sys.stderr, flush=True)
        raise Preempted(message)

    def _agree(self, stop: bool, timed: bool) -> tuple[bool, bool]:
        """Under torchrun every process must stop at the same step: any SIGTERM stops all; rank 0's clock decides."""
        if self._processes <= 1:
            return stop, timed
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return stop, timed
        flags = torch.tensor([int(stop), int(timed and distributed.is_main())], device=self.run.device)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        return bool(flags[0].item()), bool(flags[1].item())
