"""How long a fit trains: ``trainer.max_epochs: auto`` chosen from the training split, the early
stopping that goes with it, and a time budget (``trainer.time_limit``) checked at step boundaries.

``max_epochs: auto`` is about ``trainer.target_steps`` optimizer steps: ceil(target_steps /
steps_per_epoch), clamped to [``trainer.min_epochs``, ``trainer.max_epochs_cap``], where
steps_per_epoch counts what one process really steps (batch size, ``drop_last``,
``limit_train_batches``, gradient accumulation, the world size). A small dataset therefore trains
for many epochs and a large one for few. The choice is a task ``auto`` setting
(:meth:`taskhub.Task.resolve_auto`): logged, saved in checkpoints, reused on resume, listed in
summary.json's ``auto``. A user's number always wins.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf, open_dict

from taskhub.engine import distributed
from taskhub.engine.budget import ESTIMATES_KEY, STATE_KEY, TimeBudget, parse_duration
from taskhub.errors import UserError
from taskhub.task import is_auto

if TYPE_CHECKING:
    from taskhub.engine.run import Run

log = logging.getLogger("taskhub")
EPOCHS_KEY = "trainer.max_epochs"
PATIENCE_KEY = "trainer.early_stopping.patience"
#: ``run.state`` key of this process's :class:`Plan` (``_`` keys stay out of checkpoints).
PLAN_KEY = "_length_plan"


@dataclass(frozen=True)
class Plan:
    """The fit's length as planned before training (a time budget may end it earlier)."""

    epochs: int
    batches_per_epoch: int  # training batches one process takes per epoch
    steps_per_epoch: int    # optimizer steps per epoch
    accumulate: int
    auto: bool              # epochs chosen from the data (then early stopping is on by default)
    time_limit: float | None

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def _whole(value: Any, setting: str, minimum: int) -> int:
    try:
        number = int(value) if not isinstance(value, bool) and float(value) == int(float(value)) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum:
        raise UserError(f"{setting}={value}: give a whole number >= {minimum}")
    return number


def check_settings(tcfg: DictConfig) -> None:
    """Fail in one line, before any data is read, on a length setting that cannot work."""
    epochs = tcfg.get("max_epochs")
    if not is_auto(epochs):
        try:
            _whole(epochs, "trainer.max_epochs", 0)
        except UserError:
            raise UserError(f"trainer.max_epochs={epochs}: give a number of epochs or auto") from None
    _whole(tcfg.get("target_steps", 2000), "trainer.target_steps", 1)
    low = _whole(tcfg.get("min_epochs", 1), "trainer.min_epochs", 1)
    high = _whole(tcfg.get("max_epochs_cap", 200), "trainer.max_epochs_cap", 1)
    if low > high:
        raise UserError(f"trainer.min_epochs={low} is above trainer.max_epochs_cap={high}")
    patience = (tcfg.get("early_stopping") or {}).get("patience")
    if patience is not None and not is_auto(patience):
        _whole(patience, PATIENCE_KEY, 1)
    parse_duration(tcfg.get("time_limit"))


def plan(run: Run, train_batches: int) -> Plan:
    """Resolve the fit's length once the training split is built (``train_batches`` per epoch)."""
    tcfg = run.cfg.trainer
    limit = tcfg.get("limit_train_batches")
    batches = min(train_batches, int(limit)) if limit else train_batches
    accumulate = max(1, int(tcfg.get("accumulate_grad_batches") or 1))
    steps = max(1, -(-batches // accumulate))
    auto = is_auto(tcfg.get("max_epochs"))
    if auto:
        epochs = int(run.task.resolve_auto(EPOCHS_KEY, lambda: choose_epochs(tcfg, steps)))
    else:
        run.task.resolved.pop(EPOCHS_KEY, None)  # resumed with a number: the user's value wins
        run.task.resolved.pop(PATIENCE_KEY, None)
        epochs = int(tcfg.max_epochs)
    _resolve_patience(run, epochs, auto)
    result = Plan(epochs=epochs, batches_per_epoch=max(1, batches), steps_per_epoch=steps, accumulate=accumulate,
                  auto=auto, time_limit=parse_duration(tcfg.get("time_limit")))
    run.state[PLAN_KEY] = result
    return result


def choose_epochs(tcfg: DictConfig, steps_per_epoch: int) -> tuple[int, str]:
    """(epochs, reason) for about ``trainer.target_steps`` optimizer steps."""
    target = int(tcfg.get("target_steps", 2000))
    low, high = int(tcfg.get("min_epochs", 1)), int(tcfg.get("max_epochs_cap", 200))
    wanted = math.ceil(target / steps_per_epoch)
    epochs = min(max(wanted, low), high)
    reason = f"about {target} steps at {steps_per_epoch} steps per epoch"
    if epochs != wanted:
        bound = "trainer.min_epochs" if epochs == low else "trainer.max_epochs_cap"
        reason += f"; {wanted} clamped to {bound}={epochs}"
    return epochs, reason


def _resolve_patience(run: Run, epochs: int, auto_length: bool) -> None:
    """``early_stopping.patience: auto``: on for auto-length runs (max(3, epochs // 10)), else off."""
    patience = OmegaConf.select(run.cfg, PATIENCE_KEY)
    if not is_auto(patience):
        return
    if auto_length:
        run.task.resolve_auto(PATIENCE_KEY, lambda: (
            max(3, epochs // 10), f"stop after max(3, {epochs} epochs // 10) epochs without improvement"))
        return
    with open_dict(run.cfg):  # a number of epochs the user asked for is trained in full
        OmegaConf.update(run.cfg, PATIENCE_KEY, None, force_add=True)


# --- the clock, at step and epoch boundaries (called by the loop) ----------------------------
def start_clock(run: Run) -> TimeBudget:
    """The fit's :class:`TimeBudget`, counting the time earlier processes of this run spent."""
    from taskhub.engine import schedule

    length: Plan = run.state[PLAN_KEY]
    val_batches = 0.0
    val = getattr(run.data, "val", None) if run.data is not None else None
    if val is not None:
        batch_size = int(run.cfg.dataset.get("batch_size", 32) or 32)
        limit = run.cfg.trainer.get("limit_val_batches")
        val_size = len(val) / max(1, distributed.world_size())
        val_batches = min(val_size, int(limit) * batch_size) / batch_size if limit else val_size / batch_size
    budget = TimeBudget(limit=length.time_limit, spent=float(run.state.get(STATE_KEY, 0.0)),
                        batches_per_epoch=length.batches_per_epoch, accumulate=length.accumulate,
                        val_guess_batches=val_batches)
    budget.seed(run.state.get(ESTIMATES_KEY))
    budget.start()
    schedule.set_length(run, length.total_steps, length.epochs)  # the plan, also after a resume
    if length.time_limit is not None:
        log.info("time limit %.0fs (%.0fs used before)", length.time_limit, budget.spent)
    return budget


def step_boundary(run: Run, budget: TimeBudget, epoch: int, batch: int, epoch_batches: int) -> bool:
    """After ``batch`` of ``epoch_batches`` (an optimizer step is due): whether to take it and go on.

    Under a time limit the schedule's length is re-estimated here from the measured step and
    validation times; the step is the last when the next one and the validation would not fit.
    """
    budget.batch_done(batch)
    record_time(run, budget)
    if budget.limit is None:
        return True
    from taskhub.engine import schedule

    length: Plan = run.state[PLAN_KEY]
    left = epoch_batches - batch
    go_on = left <= 0 or budget.fits(min(length.accumulate, left))
    steps_done = run.global_step + 1  # this step is being taken
    if go_on:
        future = budget.future_batches(left, length.epochs - epoch)
        total = steps_done + -(-future // length.accumulate)
        epochs = epoch + (max(0, future - left) + length.batches_per_epoch - 1) // length.batches_per_epoch
    else:
        total, epochs = steps_done, epoch
    go_on, total, epochs = _agree(run, go_on, total, epochs)
    schedule.set_length(run, total, epochs)
    if not go_on:
        log.info("time limit: ending epoch %d after %d of %d batches (%s used)", epoch, batch, epoch_batches,
                 budget.describe())
    return go_on


def record_time(run: Run, budget: TimeBudget) -> None:
    """Put the time used so far, and the step and validation times, into ``run.state`` (checkpoints carry it)."""
    run.state[STATE_KEY] = round(budget.used(), 3)
    run.state[ESTIMATES_KEY] = budget.estimates()


def room_for_epoch(run: Run, budget: TimeBudget) -> bool:
    """Before an epoch: whether at least one step and a validation pass still fit."""
    record_time(run, budget)
    go_on = _agree(run, budget.fits(1), 0, 0)[0]
    if not go_on:
        log.info("time limit reached (%s used): stopping", budget.describe())
    return go_on


def _agree(run: Run, go_on: bool, total: int, epochs: int) -> tuple[bool, int, int]:
    """Rank 0's decision for every process (their clocks differ; their schedules must not)."""
    if distributed.world_size() <= 1:
        return go_on, total, epochs
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return go_on, total, epochs
    values = torch.tensor([int(go_on), total, epochs], dtype=torch.long, device=run.device)
    dist.broadcast(values, src=0)
    return bool(values[0].item()), int(values[1].item()), int(values[2].item())


def summary_fields(run: Run) -> dict[str, Any]:
    """``time_limit_seconds`` and ``time_used_seconds`` for summary.json."""
    length: Plan | None = run.state.get(PLAN_KEY)
    return {"time_limit_seconds": length.time_limit if length else None,
            "time_used_seconds": round(float(run.state.get(STATE_KEY, 0.0)), 3)}
