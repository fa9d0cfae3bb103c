"""Typed schemas for the host's config groups, so a wrong type fails at composition in one line."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore


# OmegaConf 2.3 has no Union types: ``int | "auto"`` settings are typed Any here and checked
# (one line naming the setting) by taskhub.engine.length.check_settings before any data is read.


@dataclass
class EarlyStoppingConfig:
    patience: Any = "auto"  # int | "auto" | None
    min_delta: float = 0.0


@dataclass
class TrainerConfig:
    max_epochs: Any = "auto"  # int | "auto": about target_steps optimizer steps, from the training split's size
    target_steps: int = 2000
    min_epochs: int = 1
    max_epochs_cap: int = 200
    time_limit: Any = None  # seconds, or "90s", "10m", "1h30m"
    checkpoint_every: Any = None  # mid-epoch last.pt: optimizer steps (500) or a duration ("10m")
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
    flush_denormal: bool = True
    compile: bool = False
    drop_last: bool = False
    limit_train_batches: Optional[int] = None
    limit_val_batches: Optional[int] = None
    extra: Any = None  # free-form settings for plugins that hook into the loop


def register_schemas() -> None:
    ConfigStore.instance().store(group="trainer", name="schema", node=TrainerConfig)
