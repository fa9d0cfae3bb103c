"""Batches for the loop: sliced from in-memory tensors when possible, else a DataLoader."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from taskhub.engine import distributed


class Batches:
    """An epoch's batches of one split, with the same interface for both paths.

    In-memory datasets are cut into batches by indexing their tensors with a shuffled
    permutation: no per-sample ``__getitem__`` and no collate. Everything else streams
    through DataLoader workers. Under DDP each process takes its own shard.
    """

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool, collate: Callable | None,
                 num_workers: int, seed: int, drop_last: bool = False, pin_memory: bool = False) -> None:
        self.dataset, self.batch_size, self.shuffle = dataset, int(batch_size), shuffle
        self.collate, self.num_workers, self.seed, self.drop_last = collate, int(num_workers), seed, drop_last
        self.pin_memory = pin_memory
        self.epoch = 0
        self.sliceable = bool(getattr(dataset, "sliceable", False))
        self._sampler = None
        if not self.sliceable and distributed.world_size() > 1:
            self._sampler = DistributedSampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle differently each epoch, reproducibly (and the same across resumes)."""
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.dataset)
        if distributed.world_size() > 1:
            n = -(-n // distributed.world_size())
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        return self._slices() if self.sliceable else self._loader()

    def _order(self) -> torch.Tensor:
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        world = distributed.world_size()
        if world > 1:  # pad so every process gets the same number of batches (DDP needs it)
            per = -(-n // world)
            order = torch.cat([order, order[: per * world - n]])
            order = order[distributed.rank()::world]
        return order

    def _slices(self) -> Iterator[Any]:
        order = self._order()
        stop = len(order) - (len(order) % self.batch_size if self.drop_last else 0)
        for start in range(0, stop, self.batch_size):
            yield self.dataset.batch(order[start:start + self.batch_size])

    def _loader(self) -> Iterator[Any]:
        if self._sampler is not None:
            self._sampler.set_epoch(self.epoch)
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        loader = DataLoader(
            self.dataset, batch_size=self.batch_size,
            shuffle=self.shuffle and self._sampler is None, sampler=self._sampler,
            collate_fn=self.collate, num_workers=self.num_workers, generator=g,
            drop_last=self.drop_last, pin_memory=self.pin_memory,
            persistent_workers=False,
        )
        return iter(loader)


def move_to(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """Move every tensor in a (nested) batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {k: move_to(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [move_to(v, device, non_blocking) for v in batch]
        return type(batch)(moved) if not hasattr(batch, "_fields") else type(batch)(*moved)
    return batch


def batch_length(batch: Any) -> int:
    """How many samples a batch holds, for batches shaped like default_collate's output:
    a tensor, a dict of tensors, or a tuple/list whose first entry is one of those.
    Tasks with other shapes override :meth:`taskhub.Task.batch_size`."""
    if isinstance(batch, torch.Tensor):
        return len(batch) if batch.dim() else 1
    if isinstance(batch, dict):
        return batch_length(next(iter(batch.values()))) if batch else 0
    if isinstance(batch, (list, tuple)) and batch:
        return batch_length(batch[0])
    return len(batch) if hasattr(batch, "__len__") else 1
