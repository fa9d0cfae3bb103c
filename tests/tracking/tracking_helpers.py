"""Helpers shared by the tracking tests (imported by name: tests/ folders are not packages)."""
from __future__ import annotations

import csv
import socket
from pathlib import Path

#: A vision run small enough for these tests: 300 synthetic images, the MLP, 2 epochs.
TINY = ("model=mlp", "dataset.num_samples=300", "dataset.batch_size=32", "trainer.max_epochs=2")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics_csv(run_dir: Path) -> list[dict[str, float]]:
    with open(run_dir / "metrics.csv") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
