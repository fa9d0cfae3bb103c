"""The state of one run, shared by the loop, checkpoints and plugin hooks."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from taskhub.task import Data, Task


@dataclass
class Run:
    """One fit (or evaluation): what hooks receive as ``run``.

    ``state`` is a plain dict that plugins may use for their own resumable state (early
    stopping keeps its patience counter there); it travels in checkpoints.
    """

    cfg: DictConfig
    dir: Path
    task: Task
    device: torch.device
    model: torch.nn.Module
    data: Data | None = None
    optimizer: torch.optim.Optimizer | None = None
    scheduler: Any = None
    scaler: Any = None
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


def scalars(results: dict[str, Any]) -> dict[str, float]:
    """The scalar entries of a results dict as floats (tensors of one element included)."""
    out: dict[str, float] = {}
    for key, value in results.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                continue
            value = value.item()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
    return out


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)
