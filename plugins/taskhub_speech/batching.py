"""Length-bucketed batches of prepared utterances.

The engine shuffles whatever items a dataset holds, so to keep padding small the items here
are *buckets*: groups of up to ``bucket_size`` utterances of similar length (sorted by frames,
then cut). The engine shuffles the buckets; ``collate`` pads one or more buckets into a batch.
So the engine's ``dataset.batch_size`` counts buckets (1 by default) and ``dataset.bucket_size``
counts utterances. Bucket membership is fixed for a run; their order changes every epoch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset


@dataclass
class Example:
    """One utterance ready for the model: features (frames, features), unit ids, normalized reference."""

    id: str
    text: str
    features: torch.Tensor
    targets: torch.Tensor

    @property
    def frames(self) -> int:
        return int(self.features.shape[0])


class BucketDataset(Dataset):
    """Items are buckets (lists of :class:`Example`) of similar length."""

    def __init__(self, examples: list[Example], bucket_size: int) -> None:
        self.examples = examples
        self.bucket_size = max(1, int(bucket_size))
        order = sorted(range(len(examples)), key=lambda i: examples[i].frames)
        self.buckets = [order[i:i + self.bucket_size] for i in range(0, len(order), self.bucket_size)]

    def __len__(self) -> int:
        return len(self.buckets)

    def __getitem__(self, index: int) -> list[Example]:
        return [self.examples[i] for i in self.buckets[index]]

    def drop(self, keep: list[bool]) -> None:
        """Keep only ``examples[i]`` where ``keep[i]`` (and rebuild the buckets)."""
        self.__init__([e for e, k in zip(self.examples, keep) if k], self.bucket_size)


def collate(buckets: list[list[Example]]) -> dict[str, Any]:
    """Pad one or more buckets into a batch: features (B, T, F), lengths, targets (B, L), ids and texts."""
    examples = [e for bucket in buckets for e in bucket]
    lengths = torch.tensor([e.frames for e in examples])
    features = torch.zeros(len(examples), int(lengths.max()), examples[0].features.shape[1])
    for i, e in enumerate(examples):
        features[i, : e.frames] = e.features
    target_lengths = torch.tensor([len(e.targets) for e in examples])
    targets = torch.zeros(len(examples), max(1, int(target_lengths.max())), dtype=torch.long)
    for i, e in enumerate(examples):
        targets[i, : len(e.targets)] = e.targets
    return {"features": features, "lengths": lengths, "targets": targets, "target_lengths": target_lengths,
            "ids": [e.id for e in examples], "texts": [e.text for e in examples]}
