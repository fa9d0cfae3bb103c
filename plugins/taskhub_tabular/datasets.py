"""Tabular dataset builders: each returns a :class:`Table` of raw train/val/test frames.

Builders only read and split; everything fitted (scaling, vocabularies, classes) happens in
the task on the training frame, so every source (built-in, CSV, parquet, arrays) gets the
same preprocessing and the same checkpointed state.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from taskhub import UserError
from taskhub.data import memory_data, require_file, split_indices


@dataclass
class Table:
    """Raw splits plus which columns are the label, the features and the categorical features.

    ``features``/``categorical`` None mean "infer": every column but the label, and the
    non-numeric ones among them.
    """

    train: pd.DataFrame | None
    val: pd.DataFrame | None
    test: pd.DataFrame | None
    label: str
    features: list[str] | None = None
    categorical: list[str] | None = None
    source: str = "data"


def _split(frame: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int) -> list[pd.DataFrame]:
    """Seeded random train/val/test rows (rows of a table are exchangeable, unlike a series)."""
    parts = split_indices(len(frame), [1 - val_fraction - test_fraction, val_fraction, test_fraction], seed)
    return [frame.iloc[p.numpy()].reset_index(drop=True) for p in parts]


def _table(frames: dict[str, pd.DataFrame | None], label: str, features: list[str] | None,
           categorical: list[str] | None, val_fraction: float, test_fraction: float, seed: int,
           source: str) -> Table:
    train, val, test = frames["train"], frames.get("val"), frames.get("test")
    assert train is not None
    # Carve missing splits out of the training rows; given ones are used as they are.
    want_val = val_fraction if val is None else 0.0
    want_test = test_fraction if test is None else 0.0
    if want_val or want_test:
        train, carved_val, carved_test = _split(train, want_val, want_test, seed)
        val = carved_val if val is None else val
        test = carved_test if test is None and want_test else test
    table = Table(train, val, test, label, list(features) if features else None,
                  list(categorical) if categorical is not None else None, source)
    check_columns(table)
    return table


def check_columns(table: Table) -> None:
    """One clear line when the label or a listed feature is not a column of the data."""
    columns = list(table.train.columns)
    shown = ", ".join(map(str, columns[:30])) + (" ..." if len(columns) > 30 else "")
    if table.label not in columns:
        raise UserError(f"{table.source}: no label column '{table.label}'; columns are: {shown}. "
                        f"Set dataset.label=COLUMN")
    for name in [*(table.features or []), *(table.categorical or [])]:
        if name not in columns:
            raise UserError(f"{table.source}: no feature column '{name}'; columns are: {shown}. "
                            f"Fix dataset.features / dataset.categorical")


def synthetic(num_samples: int = 5000, num_features: int = 20, informative: int = 10, noise: float = 0.5,
              val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0) -> Table:
    """A learnable binary problem with no download: ``num_features`` numeric columns ``f0..``.

    The label is the sign of a random linear score of the first ``informative`` features plus
    one interaction and Gaussian noise; the columns get different scales and offsets so that
    standardisation matters. Uninformative columns are pure noise.
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((num_samples, num_features))
    weights = np.zeros(num_features)
    weights[:informative] = rng.uniform(0.5, 1.5, informative) * rng.choice([-1, 1], informative)
    score = z @ weights + z[:, 0] * z[:, 1] + noise * rng.standard_normal(num_samples) * np.abs(weights).sum() / 4
    label = (score > np.median(score)).astype(np.int64)
    scales = 10.0 ** rng.uniform(-1, 2, num_features)
    offsets = rng.uniform(-50, 50, num_features)
    frame = pd.DataFrame(z * scales + offsets, columns=[f"f{i}" for i in range(num_features)])
    frame["label"] = label
    return _table({"train": frame}, "label", None, None, val_fraction, test_fraction, seed, "synthetic")


def _read(path: str, reader: str, sep: str = ",") -> pd.DataFrame:
    p = require_file(path, f"{reader} file", hint=" (set dataset.path=FILE)")
    try:
        return pd.read_csv(p, sep=sep) if reader == "csv" else pd.read_parquet(p)
    except Exception as exc:  # pandas raises many types; the user needs the file name and the reason
        raise UserError(f"{path}: cannot read as {reader} ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def _files(reader: str, path: str, label: str, features: list[str] | None, categorical: list[str] | None,
           val_path: str | None, test_path: str | None, val_fraction: float, test_fraction: float, seed: int,
           sep: str = ",") -> Table:
    if path in (None, "", "???"):
        raise UserError(f"dataset.path is not set: pass dataset.path=/path/to/data.{reader} dataset.label=COLUMN")
    frames = {"train": _read(path, reader, sep),
              "val": _read(val_path, reader, sep) if val_path else None,
              "test": _read(test_path, reader, sep) if test_path else None}
    return _table(frames, label, features, categorical, val_fraction, test_fraction, seed, str(path))


def csv(path: str, label: str, features: list[str] | None = None, categorical: list[str] | None = None,
        val_path: str | None = None, test_path: str | None = None, val_fraction: float = 0.15,
        test_fraction: float = 0.15, seed: int = 0, sep: str = ",") -> Table:
    """A CSV file with a header; val/test rows are carved out unless ``val_path``/``test_path`` are given."""
    return _files("csv", path, label, features, categorical, val_path, test_path, val_fraction, test_fraction,
                  seed, sep)


def parquet(path: str, label: str, features: list[str] | None = None, categorical: list[str] | None = None,
            val_path: str | None = None, test_path: str | None = None, val_fraction: float = 0.15,
            test_fraction: float = 0.15, seed: int = 0) -> Table:
    """A parquet file, as :func:`csv`."""
    return _files("parquet", path, label, features, categorical, val_path, test_path, val_fraction,
                  test_fraction, seed)


def as_frame(obj: Any, label: str) -> pd.DataFrame:
    """One split from Python: ``(X, y)`` (arrays, frames or series) or a frame holding the label column."""
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        x, y = obj
        frame = x.reset_index(drop=True).copy() if isinstance(x, pd.DataFrame) else _array_frame(x)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(frame):
            raise UserError(f"data=(X, y): y must be one label per row of X, got shape {y.shape} for {len(frame)} rows")
        frame[label] = y
        return frame
    if isinstance(obj, pd.DataFrame):
        return obj.reset_index(drop=True)
    raise UserError(f"data: give (X, y) or a pandas DataFrame with a '{label}' column, not {type(obj).__name__}")


def _array_frame(x: Any) -> pd.DataFrame:
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise UserError(f"data=(X, y): X must be 2-D (rows, features), got shape {x.shape}")
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])


def arrays(key: str, label: str = "label", features: list[str] | None = None, categorical: list[str] | None = None,
           val_fraction: float = 0.15, test_fraction: float = 0.0, seed: int = 0) -> Table:
    """Data passed from Python (``taskhub.run("tabular", data=(X, y))``), found by its registry key."""
    splits = memory_data(key)
    frames = {name: as_frame(obj, label) if obj is not None else None for name, obj in splits.items()}
    return _table(frames, label, features, categorical, val_fraction, test_fraction, seed, "data")
