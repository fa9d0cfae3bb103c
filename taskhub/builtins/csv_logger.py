"""Writes ``metrics.csv`` (a row per epoch) and ``learning_curves.png`` into the run directory."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from taskhub.hookspecs import hookimpl


@hookimpl
def on_epoch_end(run: Any, epoch: int, metrics: dict[str, float]) -> None:
    # Rewritten whole from the history each epoch, so a resumed run's file stays consistent.
    write_metrics_csv(run.dir / "metrics.csv", run.history)


@hookimpl
def on_fit_end(run: Any, summary: dict[str, Any]) -> None:
    if run.history:
        plot_learning_curves(run.dir / "learning_curves.png", run.history, run.monitor[0])


def write_metrics_csv(path: Path, history: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in history:
        columns.extend(k for k in row if k not in columns)
    order = ["epoch", "train/loss"] + sorted(c for c in columns if c.startswith("val/"))
    columns = [c for c in order if c in columns] + [c for c in columns if c not in order]
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)
    tmp.replace(path)


def plot_learning_curves(path: Path, history: list[dict[str, Any]], monitor: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    extra = monitor if not monitor.endswith("loss") else None
    fig, axes = plt.subplots(1, 2 if extra else 1, figsize=(10 if extra else 5, 4), squeeze=False)
    ax = axes[0][0]
    for key in ("train/loss", "val/loss"):
        if any(key in row for row in history):
            ax.plot(epochs, [row.get(key, float("nan")) for row in history], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    if extra:
        ax = axes[0][1]
        ax.plot(epochs, [row.get(extra, float("nan")) for row in history], marker="o", color="tab:green")
        ax.set_xlabel("epoch")
        ax.set_ylabel(extra)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
