"""Seeded train/val/test splits, for datasets that do not ship their own."""
from __future__ import annotations

from collections.abc import Sequence

import torch


def split_indices(n: int, fractions: Sequence[float], seed: int) -> list[torch.Tensor]:
    """Shuffle ``range(n)`` with ``seed`` and cut it by ``fractions`` (the last part takes the rest).

    ``split_indices(100, [0.8, 0.1, 0.1], 0)`` gives three disjoint index tensors covering 0..99.
    """
    if any(f < 0 for f in fractions) or sum(fractions) > 1 + 1e-6:
        raise ValueError(f"split fractions must be non-negative and sum to at most 1, got {list(fractions)}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    sizes = [int(round(f * n)) for f in fractions[:-1]]
    sizes.append(n - sum(sizes))
    return list(torch.split(order, sizes))


def seeded_split(n: int, val_fraction: float, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train, val, test) index tensors; val and test take the given fractions of ``n``."""
    train, val, test = split_indices(n, [1 - val_fraction - test_fraction, val_fraction, test_fraction], seed)
    return train, val, test


def carve_splits(n: int, *, has_val: bool, has_test: bool, val_fraction: float, test_fraction: float,
                 seed: int) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Indices into a training set of ``n`` items: (train, val, test), carving the splits a dataset
    does not ship (``has_val`` / ``has_test`` False) from it, seeded. A shipped split is None here.

    This is the one carving rule of every built-in loader: ``val_fraction`` and ``test_fraction``
    are fractions of the training set as given.
    """
    want_val = 0.0 if has_val else float(val_fraction)
    want_test = 0.0 if has_test else float(test_fraction)
    train, val, test = seeded_split(n, want_val, want_test, seed)
    return train, (None if has_val else val), (None if has_test else test)
