"""Typed schemas for the host's config groups, so a wrong type fails at composition in one line."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class EarlyStoppingConfig:
    patience: Optional[int] = None
    min_delta: float = 0.0


@dataclass
class TrainerConfig:
    max_epochs: int = 10
    device: str = "auto"
    precision: str = "auto"
    accumulate_grad_batches: int = 1
    gradient_clip_val: Optional[float] = None
    deterministic: bool = False
    resume: Optional[str] = None
    monitor: Optional[str] = None
    mode: Optional[str] = None
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    progress: str = "auto"
    log_every_n_steps: int = 50
    num_threads: Optional[int] = None
    compile: bool = False
    drop_last: bool = False
    limit_train_batches: Optional[int] = None
    limit_val_batches: Optional[int] = None
    extra: Any = None  # free-form settings for plugins that hook into the loop


def register_schemas() -> None:
    ConfigStore.instance().store(group="trainer", name="schema", node=TrainerConfig)
