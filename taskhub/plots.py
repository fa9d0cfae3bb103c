"""Pictures that several tasks draw (public API for plugins): confusion matrices, learning curves."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(path: Path, matrix: torch.Tensor, labels: list[str], title: str = "confusion matrix") -> None:
    plt = _pyplot()
    m = matrix.cpu().numpy()
    n = len(labels)
    size = min(4 + 0.45 * n, 16)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(n), labels, rotation=90 if n > 6 else 0)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if n <= 20:
        peak = m.max() if m.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if m[i, j] > peak / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_learning_curves(path: Path, history: list[dict[str, Any]], monitor: str) -> None:
    plt = _pyplot()
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
