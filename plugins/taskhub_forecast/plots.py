"""Forecast against the truth on the test range, with the seasonal-naive baseline for scale."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from taskhub_forecast.datasets import Series


def plot_forecast(path: Path, series: Series, steps: np.ndarray, forecast: np.ndarray, naive: np.ndarray,
                  context: int = 96) -> None:
    """One panel per value column (at most four): truth from ``context`` steps before the test
    range, the model's forecasts and the baseline's at ``steps`` (indices into the series)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = series.columns[:4]
    fig, axes = plt.subplots(len(columns), 1, figsize=(12, 3.2 * len(columns)), squeeze=False)
    start = max(series.val_end - context, 0)
    axis = series.times if series.times is not None else np.arange(len(series.values))
    for j, (ax, name) in enumerate(zip(axes[:, 0], columns)):
        ax.plot(axis[start:], series.values[start:, j], color="black", lw=1, label="truth")
        ax.plot(axis[steps], naive[:, j], color="tab:gray", lw=1, ls="--", label="seasonal naive")
        ax.plot(axis[steps], forecast[:, j], color="tab:blue", lw=1.2, label="forecast")
        ax.axvline(axis[series.val_end], color="tab:red", lw=0.8, ls=":", label="test range starts")
        ax.set_title(f"{name}: test range")
        ax.set_xlabel("time" if series.times is not None else "step")
        ax.set_ylabel(name)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
