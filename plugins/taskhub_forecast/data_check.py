"""How the forecast task describes its data for ``taskhub data check``: per split the number of
windows and the length of its range of the series (steps), and each channel's range and missing
values in that range (before scaling). Windows are not hashed: a seasonal series repeats itself."""
from __future__ import annotations

from typing import Any

import numpy as np

from taskhub.data import DataDescription, SplitDescription, Splits


def describe(task: Any, data: Splits, samples: int) -> DataDescription:
    series = task.series
    bounds = {"train": (0, series.train_end), "val": (series.train_end, series.val_end),
              "test": (series.val_end, len(series.values))}
    desc = DataDescription(splits={}, classification=False)
    for split, (begin, end) in bounds.items():
        ds = getattr(data, split, None)
        if ds is None:
            desc.splits[split] = None
            continue
        values = np.asarray(series.values[begin:end], dtype=float)
        desc.splits[split] = SplitDescription(
            examples=len(ds), lengths={"series steps": [float(end - begin)]},
            columns={str(c): channel_stats(values[:, j]) for j, c in enumerate(series.columns)})
    return desc


def channel_stats(values: np.ndarray) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    return {"kind": "number", "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None, "missing": int((~np.isfinite(values)).sum()),
            "distinct": int(np.unique(finite).size)}
