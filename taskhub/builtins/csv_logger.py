"""Writes ``metrics.csv`` (a row per epoch) and ``learning_curves.png`` into the run directory.

The ``csv`` logger: on by default (``logger: [csv]`` in the root config); ``logger=[tensorboard]``
or ``logger=[]`` turns it off.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from taskhub.hookspecs import hookimpl
from taskhub.run_state import Run


def selected(run: Run) -> bool:
    """Whether the run chose the csv logger (a config from before the logger group: yes)."""
    loggers = run.cfg.get("logger")
    return loggers is None or "csv" in loggers


@hookimpl
def on_epoch_end(run: Run, epoch: int, metrics: dict[str, float]) -> None:
    if not selected(run):
        return
    # Rewritten whole from the history each epoch, so a resumed run's file stays consistent.
    write_metrics_csv(run.dir / "metrics.csv", run.history)


@hookimpl
def on_fit_end(run: Run, summary: dict[str, Any]) -> None:
    if run.history and selected(run):
        from taskhub.plots import plot_learning_curves  # matplotlib and torch: only when a run ends

        plot_learning_curves(run.dir / "learning_curves.png", run.history, run.monitor[0], title=run_title(run))


def run_title(run: Run) -> str:
    """``task / model / dataset (run directory name)``: what a plot's title names."""
    parts = [run.task.name, run.choices.get("model") or run.task.model_name(), run.choices.get("dataset", "")]
    return " / ".join(p for p in parts if p) + f"  ({run.dir.name})"


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
