"""Self-describing checkpoints: enough to resume training and to evaluate without the old config.

A checkpoint holds the model, optimizer, scheduler and scaler states, the epoch, the run's
history, the resolved config and the task's fitted state (label names, tokenizer, scaler).
Writes are atomic: a crash mid-write never leaves a truncated ``last.pt``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

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
    from taskhub.trust import check_targets, overrides_as_config, parse_trust, trusted_prefixes

    source = f"checkpoint {path}"
    extra, allowed = parse_trust(trust), trusted_prefixes()
    raw = ckpt.get("config")
    if not isinstance(raw, dict):
        raise UserError(f"{path}: not a taskhub checkpoint (its config is not a mapping)")
    try:
        resolved = OmegaConf.to_container(OmegaConf.create(raw), resolve=True)
        check_targets(resolved, source, extra, allowed)  # what instantiate sees after interpolation
        cfg = OmegaConf.create(resolved)
        check_targets(OmegaConf.to_container(cfg, resolve=True), source, extra, allowed)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{source}: its config does not resolve ({type(exc).__name__}: {exc}); refused") from None
    for tree in overrides_as_config(ckpt.get("overrides") or [], source):
        check_targets(tree, f"{source} (stored overrides)", extra, allowed)
    with open_dict(cfg):
        cfg.pop("trust", None)  # a file never widens its own trust
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
