"""Shared data helpers for plugins: in-memory datasets, seeded splits, config plumbing."""
from taskhub.data.in_memory import InMemoryDataset
from taskhub.data.paths import expand_paths, require_dir, require_file
from taskhub.data.splits import seeded_split, split_indices
from taskhub.data.configs import dataset_kwargs, LOADER_KEYS

__all__ = [
    "InMemoryDataset", "seeded_split", "split_indices", "expand_paths", "require_dir", "require_file",
    "dataset_kwargs", "LOADER_KEYS",
]
from taskhub.data.memory import memory_data, register_data, release_data

__all__ += ["memory_data", "register_data", "release_data"]
