"""How the tabular task describes its data for ``taskhub data check``: per split the class counts
(classification) or the label's range (regression), and each raw column's kind, range, distinct
values and missing cells, read from the dataset's own frames (before scaling and encoding);
rows hashed by their values, for rows of val/test that also occur in train."""
from __future__ import annotations

from typing import Any

from taskhub.data import DataDescription, Splits, build_splits, describe_splits


def describe(task: Any, data: Splits, samples: int) -> DataDescription:
    import pandas as pd

    desc = describe_splits(data, samples=0)
    encoder = task.encoder
    regression = encoder is not None and encoder.kind == "regression"
    desc.classification = not regression
    if not regression and encoder is not None:
        desc.labels = [str(c) for c in encoder.classes]
    frames = build_splits(task.cfg.dataset)  # the raw frames (reading a table twice is cheap)
    label = frames.info["label"]
    for split, part in desc.splits.items():
        frame = getattr(frames, split, None)
        if part is None or frame is None:
            continue
        part.columns = {str(c): column_stats(frame[c]) for c in frame.columns}
        part.keys = [f"{h:016x}" for h in pd.util.hash_pandas_object(frame, index=False).tolist()]
        part.names = [f"{split} row {i}" for i in frame.index]
        if regression:
            part.counts = {}
        part.columns = {(f"{k} (label)" if k == str(label) else k): v for k, v in part.columns.items()}
    return desc


def column_stats(column: Any) -> dict[str, Any]:
    import pandas as pd

    missing = int(column.isna().sum())
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().sum() == column.notna().sum() and column.notna().any():
        return {"kind": "number", "min": float(numbers.min()), "max": float(numbers.max()), "missing": missing,
                "distinct": int(numbers.nunique())}
    return {"kind": "category", "min": None, "max": None, "missing": missing, "distinct": int(column.nunique())}
