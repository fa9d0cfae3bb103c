"""In-memory data handed over from Python: ``taskhub.run("tabular", data=(X, y))``.

Hydra configs are text, so arrays and data frames cannot travel inside them. The Python API
registers the objects here under a short key and adds ``dataset=arrays dataset.key=KEY`` to
the overrides; the task's ``arrays`` dataset builder fetches them with :func:`memory_data`.
The host never looks inside the objects: what a split holds ((X, y), a frame, a series) is
the task's business.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from taskhub.errors import UserError

#: The splits a caller may name; anything else given as ``data`` is the training split.
SPLITS = ("train", "val", "test")

# key -> {"train": obj, "val": obj | None, "test": obj | None}; entries live while their run does.
_registry: dict[str, dict[str, Any]] = {}
_counter = itertools.count()


def as_splits(data: Any) -> dict[str, Any]:
    """``data`` as ``{"train", "val", "test"}``: a mapping with (some of) those keys, or one training set."""
    if isinstance(data, Mapping) and data and set(data) <= set(SPLITS):
        if data.get("train") is None:
            raise UserError("data={...}: give at least a 'train' entry (and optionally 'val' and 'test')")
        return {split: data.get(split) for split in SPLITS}
    if isinstance(data, Mapping) and set(data) & set(SPLITS):
        extra = sorted(set(data) - set(SPLITS))
        raise UserError(f"data={{...}} has keys {extra}: use only 'train', 'val' and 'test'")
    return {"train": data, "val": None, "test": None}


def register_data(data: Any) -> str:
    """Keep ``data`` (one training set, or a dict of splits) for a run; returns its key."""
    key = f"mem{next(_counter)}"
    _registry[key] = as_splits(data)
    return key


def release_data(key: str) -> None:
    """Forget the data registered under ``key`` (the run has finished)."""
    _registry.pop(key, None)


def memory_data(key: str | None) -> dict[str, Any]:
    """The splits registered under ``key``: what a task's ``dataset=arrays`` builder calls."""
    if key is None or str(key) not in _registry:
        raise UserError(
            f"dataset.key={key}: no in-memory data under this key in this process; dataset=arrays is for "
            "the Python API: taskhub.run(TASK, data=(X, y)) or data={'train': ..., 'val': ...}")
    return _registry[str(key)]
