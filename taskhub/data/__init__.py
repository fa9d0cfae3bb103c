"""Shared data helpers for plugins: the data contract (``Splits``, ``build_splits``), the bad-input
policy, in-memory datasets, a cache for generated data, seeded splits and path checks.

Names are imported on first use, so ``import taskhub`` stays free of torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "Splits": "contract", "build_splits": "contract", "check_arguments": "contract", "LOADER_KEYS": "contract",
    "BadInputs": "bad_inputs", "OnBad": "bad_inputs",
    "InMemoryDataset": "in_memory",
    "cached_tensors": "cache",
    "carve_splits": "splits", "seeded_split": "splits", "split_indices": "splits",
    "expand_paths": "paths", "require_dir": "paths", "require_file": "paths",
    "dataset_kwargs": "configs",
    "memory_data": "memory", "register_data": "memory", "release_data": "memory",
    "safe_unpickle": "safe_unpickle", "SafeUnpickler": "safe_unpickle",
    "DataDescription": "description", "SplitDescription": "description", "Sample": "description",
    "describe_splits": "description", "describe_dataset": "description", "class_counts": "description",
    "file_keys": "description", "row_keys": "description", "spread_indices": "description",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'taskhub.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"taskhub.data.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
