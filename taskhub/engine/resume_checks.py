"""Checks before a fit starts or resumes, so that a run never reports a wrong result silently."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from taskhub.engine import checkpoint
from taskhub.errors import UserError
from taskhub.task import is_auto


def check_max_epochs(tcfg: DictConfig) -> None:
    """``trainer.max_epochs`` of 0 or less would test an untrained model as if it were a result."""
    epochs = tcfg.get("max_epochs")
    if isinstance(epochs, bool) or is_auto(epochs):
        return
    try:
        number = int(epochs)
    except (TypeError, ValueError):
        return  # not a number: the length settings' own check names it
    if number < 1:
        raise UserError(f"trainer.max_epochs={epochs}: train at least 1 epoch (or auto); to test a trained "
                        f"model use taskhub eval ckpt=PATH")


def check_resume(ckpt: dict[str, Any], cfg: DictConfig, source: Path, run_dir: Path, repair: bool = True) -> None:
    """Resuming from ``ckpt``: the same model settings, and a ``best.pt`` that holds the best epoch.
    Every process checks (so all stop together); only ``repair=True`` (rank 0) writes."""
    check_same_model(ckpt, cfg, source)
    checkpoint.ensure_best(ckpt, source, run_dir / "checkpoints", repair=repair)


def check_same_model(ckpt: dict[str, Any], cfg: DictConfig, source: Path) -> None:
    """One line naming the model settings that differ from the checkpoint's (its weights would not fit)."""
    saved = ckpt.get("config", {}).get("model")
    if not isinstance(saved, dict) or "model" not in cfg:
        return
    now = OmegaConf.to_container(cfg.model, resolve=True)
    chosen = {key for key in (ckpt.get("auto") or {}) if key.startswith("model.")}
    old, new = _flat(saved, "model"), _flat(now, "model")
    differ = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a == b or (key in chosen and is_auto(b)) or (a is _MISSING and b is None):
            continue
        differ.append(f"{key}={_show(b)} (the checkpoint has {_show(a)})")
    if differ:
        more = f" and {len(differ) - 3} more" if len(differ) > 3 else ""
        raise UserError(f"trainer.resume={source}: a different model than the checkpoint's: {'; '.join(differ[:3])}"
                        f"{more}; resume with the checkpoint's model settings, or start a new run")


_MISSING = object()


def _flat(node: Any, prefix: str) -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}.{key}"))
        return out
    return {prefix: node}


def _show(value: Any) -> str:
    return "nothing" if value is _MISSING else str(value)
