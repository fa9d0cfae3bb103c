"""Datasets held as tensors, which the engine batches by slicing instead of per-sample loading."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import Dataset


class InMemoryDataset(Dataset):
    """Named tensors of equal length; an item is a dict with one entry per tensor.

    Without ``transform`` the engine takes whole batches as ``{k: t[idx]}`` (one gather per
    tensor per batch). With a per-sample ``transform`` (augmentation) it is an ordinary
    Dataset and goes through DataLoader workers.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], transform: Callable[[dict], dict] | None = None) -> None:
        lengths = {name: len(t) for name, t in tensors.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"tensors of different lengths: {lengths}")
        self.tensors = tensors
        self.transform = transform

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = {name: t[index] for name, t in self.tensors.items()}
        return self.transform(item) if self.transform else item

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        """The items at ``index`` as one batch (only meaningful without a transform)."""
        return {name: t[index] for name, t in self.tensors.items()}

    def subset(self, index: torch.Tensor | list[int], transform: Callable | None = None) -> InMemoryDataset:
        """A new dataset with the rows at ``index`` (copied, so it stays sliceable)."""
        index = torch.as_tensor(index, dtype=torch.long)
        return InMemoryDataset({name: t[index] for name, t in self.tensors.items()}, transform)

    @property
    def sliceable(self) -> bool:
        return self.transform is None
