"""Learning-rate schedulers whose length the engine sets: ``T_max: auto``, ``total_steps: auto``.

A scheduler's length key (:data:`LENGTH_KEYS`) whose value is ``auto`` receives the run's total length in the
scheduler's unit (``interval: step``: optimizer steps; ``interval: epoch``: epochs), from the
planned epochs and steps per epoch. Under a time budget the engine re-estimates that total as it
measures step and validation times, and updates the running scheduler (:func:`set_length`), so
the schedule ends when training does: a cosine reaches ``eta_min`` at the last step.
"""
from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch.optim.lr_scheduler import LRScheduler

from taskhub.errors import UserError
from taskhub.task import is_auto

if TYPE_CHECKING:
    from taskhub.engine.length import Plan
    from taskhub.engine.run import Run

log = logging.getLogger("taskhub")
#: ``run.state`` key: (the config keys that were ``auto``, the interval), for :func:`set_length`.
LENGTH_KEY = "_schedule_length"
#: The scheduler arguments that are a total length (torch's and :class:`WarmupLinearLR`'s names).
LENGTH_KEYS = ("T_max", "total_steps", "total_iters", "num_training_steps")
#: torch schedulers whose length attribute can change mid-run: their recursive form continues
#: from the current rate and reaches the end value at the new length.
_STRETCHABLE = {"CosineAnnealingLR": "T_max", "PolynomialLR": "total_iters", "LinearLR": "total_iters",
                "ConstantLR": "total_iters"}


def build(cfg: DictConfig, optimizer: torch.optim.Optimizer, monitor_mode: str, length: Plan | None,
          state: dict[str, Any]) -> tuple[Any, str]:
    """The configured scheduler (or None) and its interval (``epoch`` | ``step``)."""
    scfg = cfg.get("scheduler")
    if not scfg:
        return None, "epoch"
    settings = OmegaConf.to_container(scfg, resolve=True)
    interval = settings.pop("interval", "epoch")
    if interval not in ("epoch", "step"):
        raise UserError(f"scheduler.interval={interval}: choose epoch or step")
    auto_keys = [key for key, value in settings.items() if is_auto(value)]
    unresolved = [key for key in auto_keys if key not in LENGTH_KEYS]
    if unresolved:  # a task resolves its own scheduler settings in build_data; nothing did this one
        raise UserError(f"scheduler.{unresolved[0]}=auto: only the length ({', '.join(LENGTH_KEYS)}) is filled in "
                        f"by the engine; give scheduler.{unresolved[0]} a value")
    if auto_keys:
        if length is None:
            raise UserError(f"scheduler.{auto_keys[0]}=auto: only a training run has a length to fill in")
        total = length.total_steps if interval == "step" else length.epochs
        settings.update({key: max(1, total) for key in auto_keys})
        state[LENGTH_KEY] = (auto_keys, interval)
    if str(settings.get("_target_", "")).endswith("ReduceLROnPlateau") and "mode" not in settings:
        settings["mode"] = monitor_mode
    return instantiate(OmegaConf.create(settings), optimizer=optimizer), interval


def set_length(run: Run, total_steps: int, total_epochs: int) -> None:
    """Make the running scheduler's ``auto`` length ``total_steps`` (or ``total_epochs``)."""
    info = run.state.get(LENGTH_KEY)
    scheduler = run.scheduler
    if not info or scheduler is None:
        return
    keys, interval = info
    total = max(1, int(total_steps if interval == "step" else total_epochs))
    if hasattr(scheduler, "set_total_steps"):
        scheduler.set_total_steps(total)
        return
    attribute = _STRETCHABLE.get(type(scheduler).__name__)
    if attribute in keys:
        setattr(scheduler, attribute, max(total, scheduler.last_epoch))
    elif any(getattr(scheduler, key, None) != total for key in keys) and not run.state.get("_schedule_length_warned"):
        run.state["_schedule_length_warned"] = True
        log.warning("%s cannot change its length mid-run; it keeps the planned one (scheduler=cosine or "
                    "scheduler=linear_warmup follow a time limit)", type(scheduler).__name__)


class WarmupLinearLR(LRScheduler):
    """Linear warm-up from ~0 to the optimizer's rate over ``warmup`` (a fraction of
    ``total_steps``), then linear decay to ``final_ratio`` times it at ``total_steps``.

    The usual fine-tuning schedule (BERT's). When the engine changes ``total_steps`` mid-run
    (a time budget's re-estimate), the decay goes on from the current rate to the new end,
    without a jump.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int, warmup: float = 0.06,
                 final_ratio: float = 0.0, last_epoch: int = -1) -> None:
        if not 0.0 <= float(warmup) < 1.0:
            raise UserError(f"scheduler.warmup={warmup}: give the warm-up as a fraction of the steps, in [0, 1)")
        self.total_steps, self.warmup, self.final_ratio = max(1, int(total_steps)), float(warmup), float(final_ratio)
        self.anchor: tuple[int, float] | None = None  # (step, factor) the decay continues from
        super().__init__(optimizer, last_epoch)

    def warmup_steps(self) -> int:
        return int(math.floor(self.warmup * self.total_steps))

    def factor(self, step: int) -> float:
        warmup = self.warmup_steps()
        if step < warmup and self.anchor is None:
            return (step + 1) / (warmup + 1)
        start, value = self.anchor or (warmup, 1.0)
        if self.total_steps <= start:
            return self.final_ratio
        done = min(1.0, max(0.0, (step - start) / (self.total_steps - start)))
        return value + (self.final_ratio - value) * done

    def set_total_steps(self, total: int) -> None:
        total = max(int(total), self.last_epoch + 1)
        if total == self.total_steps:
            return
        if self.last_epoch >= self.warmup_steps() or self.anchor is not None:
            self.anchor = (self.last_epoch, self.factor(self.last_epoch))
        self.total_steps = total

    def get_lr(self) -> list[float]:
        f = self.factor(self.last_epoch)
        return [base * f for base in self.base_lrs]
