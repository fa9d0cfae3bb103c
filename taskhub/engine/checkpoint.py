"""Self-describing checkpoints: enough to resume training and to evaluate without the old config.

A checkpoint holds the model, optimizer, scheduler and scaler states, the epoch, the run's
history, the resolved config and the task's fitted state (label names, tokenizer, scaler).
Writes are atomic: a crash mid-write never leaves a truncated ``last.pt``.
"""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import DictConfig, OmegaConf

from taskhub.errors import UserError

if TYPE_CHECKING:
    from taskhub.run_state import Run

FORMAT_VERSION = 1


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The bare model under DDP or torch.compile wrappers."""
    while True:
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):  # torch.compile's OptimizedModule
            model = model._orig_mod
        else:
            return model


def payload(run: Run) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "task": run.task.name,
        "model": unwrap(run.model).state_dict(),
        "optimizer": run.optimizer.state_dict() if run.optimizer else None,
        "scheduler": run.scheduler.state_dict() if run.scheduler else None,
        "scaler": run.scaler.state_dict() if run.scaler is not None and run.scaler.is_enabled() else None,
        "epoch": run.epoch,
        "global_step": run.global_step,
        "best": run.best,
        "best_epoch": run.best_epoch,
        "history": run.history,
        "state": {k: v for k, v in run.state.items() if not k.startswith("_")},  # "_" keys: this process only
        "config": OmegaConf.to_container(run.cfg, resolve=True),
        "overrides": list(run.overrides),
        "choices": dict(run.choices),
        "task_state": run.task.state_dict(),
        "auto": dict(run.task.resolved),  # settings chosen from the data: reused by eval, predict, resume
        "rng": torch.get_rng_state(),
        "manifest": run.state.get("_manifest"),  # what produced it: versions, git, data (taskhub.tracking)
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        # Mid-epoch (trainer.checkpoint_every, SIGTERM): where in epoch ``epoch + 1`` it was taken.
        "partial": run.state.get("_partial"),
    }


def save(run: Run, path: Path) -> Path:
    """Write the run's checkpoint to ``path`` atomically (temp file, then rename)."""
    return write(payload(run), path)


def write(data: dict[str, Any], path: Path) -> Path:
    """Write checkpoint ``data`` to ``path`` atomically; a full or unwritable disk is one line."""
    from taskhub.engine.run_dir import write_error

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(data, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise write_error(exc, path, "write checkpoint") from None
    except RuntimeError as exc:  # torch's zip writer reports a short write as "unexpected pos ..."
        _discard(tmp)
        if "unexpected pos" in str(exc) or "PytorchStreamWriter" in str(exc) or "file write failed" in str(exc):
            raise write_error(OSError(errno.ENOSPC, "No space left on device", str(path)), path,
                              "write checkpoint") from None
        raise
    return path


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink()
    except OSError:
        pass


def load_best(run: Run) -> None:
    """Put the best epoch's weights (``best.pt``) into ``run.model``, after checking that best.pt
    holds the epoch the run says is best: never test other weights silently."""
    path = run.checkpoint_dir / "best.pt"
    if not path.is_file():
        raise UserError(f"{path} is missing, but epoch {run.best_epoch} was the best: its weights are gone; "
                        f"train again (or resume from a run directory that has it)")
    best = load(path)
    if best.get("epoch") != run.best_epoch:
        raise UserError(f"{path} holds epoch {best.get('epoch')}, but epoch {run.best_epoch} was the best; "
                        f"its weights are gone: train again")
    unwrap(run.model).load_state_dict(best["model"])


def ensure_best(ckpt: dict[str, Any], source: Path, checkpoint_dir: Path, repair: bool = True) -> None:
    """Before resuming from ``ckpt`` (read from ``source``): make ``checkpoint_dir/best.pt`` hold
    the epoch ``ckpt`` calls best. A kill between the last.pt and best.pt writes leaves last.pt
    one epoch ahead with the best weights inside it (last.pt is written first): they are copied
    to best.pt. Resuming into a new directory copies the source's best.pt. Anything else (the
    best weights are gone) is one line."""
    import logging
    import shutil

    want = ckpt.get("best_epoch")
    if want is None:
        return
    target = checkpoint_dir / "best.pt"
    seen: dict[Path, Any] = {}
    for candidate in dict.fromkeys([target, source.parent / "best.pt"]):
        if candidate.is_file():
            try:
                seen[candidate] = load(candidate).get("epoch")
            except UserError:
                seen[candidate] = "unreadable"
            if seen[candidate] == want:
                if candidate != target and repair:
                    checkpoint_dir.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(candidate, target.with_name(".best.pt.tmp"))
                    os.replace(target.with_name(".best.pt.tmp"), target)
                return
    if ckpt.get("epoch") == want and not ckpt.get("partial"):
        if not repair:  # another process (rank 0) writes it
            return
        write(ckpt, target)
        logging.getLogger("taskhub").info("repaired %s from %s (epoch %d, the best; a run was killed between "
                                          "the two writes)", target, source, want)
        return
    found = ", ".join(f"{p} holds epoch {e}" for p, e in seen.items()) or f"{target} is missing"
    raise UserError(f"cannot resume from {source}: it says epoch {want} was the best, but {found} and those "
                    f"weights are gone; start a new run (or resume from a consistent checkpoints/ pair)")


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint on the CPU; a missing or unreadable file is a user error."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        # weights_only: a checkpoint is data (tensors, numbers, strings), never code to run.
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(refusal(path, exc)) from None
    if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
        raise UserError(f"{path}: not a taskhub checkpoint (no model or config inside)")
    return ckpt


def refusal(path: str | Path, exc: BaseException) -> str:
    """One line for a file torch.load refused, without PyTorch's advice to load it unsafely."""
    text = str(exc)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if "Weights only load failed" in text or "WeightsUnpickler" in text:
        what = f" ({found.group(1)})" if found else ""
        return (f"{path}: refused: it holds Python objects{what} that would run code when loaded, not a "
                f"checkpoint's data (tensors, numbers, strings); taskhub never loads such files")
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    if "weights_only" in first:
        first = type(exc).__name__
    return f"{path}: not a readable taskhub checkpoint ({type(exc).__name__}: {first})"


def trusted_config(ckpt: dict[str, Any], path: str | Path, trust: Any = None) -> DictConfig:
    """The config stored in checkpoint ``ckpt`` (read from ``path``), once every ``_target_`` in
    it and in its stored overrides is trusted (see :mod:`taskhub.trust`): what ``taskhub eval``,
    ``taskhub predict`` and ``taskhub.load`` build from. ``trust`` is the user's explicit
    ``trust=`` setting, never the checkpoint's own."""
    from taskhub.trust import check_targets, checked_config, overrides_as_config, parse_trust, trusted_prefixes

    source = f"checkpoint {path}"
    if not isinstance(ckpt.get("config"), dict):
        raise UserError(f"{path}: not a taskhub checkpoint (its config is not a mapping)")
    cfg = checked_config(ckpt["config"], source, trust)
    for tree in overrides_as_config(ckpt.get("overrides") or [], source):
        check_targets(tree, f"{source} (stored overrides)", parse_trust(trust), trusted_prefixes())
    return cfg


def resolve_resume(setting: str | None, run_dir: Path) -> Path | None:
    """``trainer.resume``: a path, ``auto`` (this run dir's last.pt if present), or None."""
    if setting in (None, "", False):
        return None
    if str(setting) == "auto":
        last = run_dir / "checkpoints" / "last.pt"
        return last if last.is_file() else None
    p = Path(str(setting)).expanduser()
    if p.is_dir():
        p = p / "checkpoints" / "last.pt"
    if not p.is_file():
        raise UserError(f"trainer.resume={setting}: no checkpoint there (give a .pt file, a run directory, or auto)")
    return p
