"""Engine helpers for a run's results; ``Run`` itself now lives in :mod:`taskhub.run_state`.

``from taskhub.engine.run import Run`` keeps working (a re-export) for code written before 0.2.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from taskhub.run_state import Run

__all__ = ["Run", "scalars", "write_json"]


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
    """Write ``data`` to ``path`` atomically; an unwritable or full disk is one line."""
    from taskhub.engine.run_dir import write_error

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
        tmp.replace(path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise write_error(exc, path) from None
