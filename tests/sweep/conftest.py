"""Tiny vision trials for sweep tests: 300 images of 16x16, an MLP, two epochs (a few seconds each)."""
from __future__ import annotations

import pytest

TINY = ["dataset.num_samples=300", "dataset.size=16", "model=mlp", "trainer.max_epochs=2",
        "trainer.device=cpu", "trainer.progress=none"]


@pytest.fixture
def tiny() -> list[str]:
    return list(TINY)
