"""The public run type: what every loop hook and ``Task.plots`` receives as ``run``.

Exported as ``taskhub.Run``. The module is not called ``taskhub/run.py`` because
``taskhub.run`` is the public *function* that runs a task: importing a submodule of that name
would replace the function with the module on the package.

This module imports neither torch nor the engine, so ``import taskhub`` stays light and the
host's modules form no import cycle (``taskhub.task`` names ``Run`` for type checkers only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskhub.task import Task

if TYPE_CHECKING:
    import torch
    from omegaconf import DictConfig

    from taskhub.data.contract import Splits

__all__ = ["Run"]


@dataclass
class Run:
    """One fit (or evaluation of a checkpoint), as the engine and plugins see it.

    Read what you need; write only ``should_stop`` (end training after this epoch) and your own
    keys in ``state`` (resumable plugin state: it travels in checkpoints; keys starting with
    ``_`` are the engine's and are not saved).

    ``results`` holds the last evaluation of each split: ``run.results["val"]`` and
    ``run.results["test"]`` map ``"<split>/<metric>"`` to a float (the loss) or to what the
    metric's ``compute()`` returned, on the CPU: a 0-d tensor for scalars, a tensor such as a
    confusion matrix (``run.results["test"]["test/confusion_matrix"]``), or a dict (per-class
    AP). Scalars also go to ``metrics.csv`` and ``summary.json``; the rest is for ``plots``.
    ``history`` is one dict per finished epoch (the rows of ``metrics.csv``).
    """

    cfg: DictConfig
    dir: Path
    task: Task
    device: torch.device
    model: torch.nn.Module
    data: Splits | None = None
    optimizer: torch.optim.Optimizer | None = None
    scheduler: Any = None
    scaler: Any = None
    #: (metric key, "min" | "max") that best checkpoints and early stopping follow.
    monitor: tuple[str, str] = ("val/loss", "min")
    overrides: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)
    epoch: int = 0
    global_step: int = 0
    best: float | None = None
    best_epoch: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    should_stop: bool = False
    is_main: bool = True

    @property
    def checkpoint_dir(self) -> Path:
        """``<run dir>/checkpoints``: where ``last.pt`` and ``best.pt`` are written."""
        return self.dir / "checkpoints"

    def improved(self, row: dict[str, Any]) -> bool:
        """Whether ``row`` beats the best monitored value so far (and record it if so)."""
        key, mode = self.monitor
        value = row.get(key)
        if value is None:  # nothing monitored (no validation split): the latest epoch is the best
            self.best_epoch = int(row["epoch"])
            return True
        if math.isnan(value):
            return False
        better = self.best is None or (value > self.best if mode == "max" else value < self.best)
        if better:
            self.best, self.best_epoch = float(value), int(row["epoch"])
        return better
