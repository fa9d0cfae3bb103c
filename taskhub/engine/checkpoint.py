"""Self-describing checkpoints: enough to resume training and to evaluate without the old config.

A checkpoint holds the model, optimizer, scheduler and scaler states, the epoch, the run's
history, the resolved config and the task's fitted state (label names, tokenizer, scaler).
Writes are atomic: a crash mid-write never leaves a truncated ``last.pt``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import OmegaConf

from taskhub.errors import UserError

if TYPE_CHECKING:
    from taskhub.engine.run import Run

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
    }


def save(run: Run, path: Path) -> Path:
    """Write the run's checkpoint to ``path`` atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload(run), tmp)
    os.replace(tmp, path)
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint on the CPU; a missing or unreadable file is a user error."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        # weights_only: a checkpoint is data (tensors, numbers, strings), never code to run.
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{path}: not a readable taskhub checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(ckpt, dict) or "config" not in ckpt or "model" not in ckpt:
        raise UserError(f"{path}: not a taskhub checkpoint (no model or config inside)")
    return ckpt


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
