"""Tabular dataset builders: each returns :class:`taskhub.data.Splits` of raw train/val/test frames.

Builders only read and split; everything fitted (scaling, vocabularies, classes) happens in
the task on the training frame, so every source (built-in, CSV, parquet, arrays) gets the
same preprocessing and the same checkpointed state.
"""
from __future__ import annotations

import logging
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from taskhub import UserError, require_extra
from taskhub.data import OnBad, Splits, carve_splits, memory_data, require_file

log = logging.getLogger("taskhub")
#: how empty feature cells are filled: the training mean | the row is dropped | an error
Missing = Literal["mean", "drop", "error"]


# ``on_bad`` and ``missing`` are applied by the task, which fits the encoder: builders only read and split.
def table_info(label: str, features: list[str] | None, categorical: list[str] | None, source: str,
               lines: bool) -> dict[str, Any]:
    """What the task needs beside the frames: which columns are the label, the features and the
    categorical ones (None: infer), where the rows came from, and whether row labels are file lines."""
    return {"label": label, "features": list(features) if features else None,
            "categorical": list(categorical) if categorical is not None else None,
            "source": source, "file_lines": lines}


def _splits(frames: dict[str, pd.DataFrame | None], label: str, features: list[str] | None,
            categorical: list[str] | None, val_fraction: float, test_fraction: float, seed: int,
            source: str, lines: bool = False) -> Splits:
    """Splits of raw frames, carving the missing ones out of the training rows (given ones are used
    as they are). Frames keep their original row index, so a bad row can be named by its line."""
    train, val, test = frames["train"], frames.get("val"), frames.get("test")
    assert train is not None
    keep, carved_val, carved_test = carve_splits(len(train), has_val=val is not None, has_test=test is not None,
                                                 val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    rows = lambda index: train.iloc[index.numpy()]  # noqa: E731
    splits = Splits(rows(keep), val if val is not None else rows(carved_val),
                    test if test is not None else (rows(carved_test) if len(carved_test) else None),
                    info=table_info(label, features, categorical, source, lines))
    check_columns(splits)
    return splits


def check_columns(splits: Splits) -> None:
    """One clear line when the label or a listed feature is not a column of the data."""
    info = splits.info
    columns = list(splits.train.columns)
    shown = ", ".join(map(str, columns[:30])) + (" ..." if len(columns) > 30 else "")
    if info["label"] not in columns:
        raise UserError(f"{info['source']}: no label column '{info['label']}'; columns are: {shown}. "
                        f"Set dataset.label=COLUMN")
    for name in [*(info["features"] or []), *(info["categorical"] or [])]:
        if name not in columns:
            raise UserError(f"{info['source']}: no feature column '{name}'; columns are: {shown}. "
                            f"Fix dataset.features / dataset.categorical")


def synthetic(num_samples: int = 5000, num_features: int = 20, informative: int = 10, noise: float = 0.5,
              val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0, on_bad: OnBad = "error",
              missing: Missing = "mean") -> Splits:
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
    return _splits({"train": frame}, "label", None, None, val_fraction, test_fraction, seed, "synthetic")


def _read(path: str, reader: str, sep: str = ",") -> pd.DataFrame:
    p = require_file(path, f"{reader} file", hint=" (set dataset.path=FILE)")
    if reader == "parquet":
        require_extra("pyarrow", "parquet", "dataset=parquet")
    try:
        return pd.read_csv(p, sep=sep) if reader == "csv" else pd.read_parquet(p)
    except Exception as exc:  # pandas raises many types; the user needs the file name and the reason
        raise UserError(f"{path}: cannot read as {reader} ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def _files(reader: str, train: str | None, label: str, features: list[str] | None, categorical: list[str] | None,
           val: str | None, test: str | None, val_fraction: float, test_fraction: float, seed: int,
           sep: str = ",") -> Splits:
    if train in (None, "", "???"):
        raise UserError(f"dataset.train is not set: pass dataset.train=/path/to/data.{reader} dataset.label=COLUMN")
    frames = {"train": _read(train, reader, sep),
              "val": _read(val, reader, sep) if val else None,
              "test": _read(test, reader, sep) if test else None}
    splits = _splits(frames, label, features, categorical, val_fraction, test_fraction, seed, str(train),
                     lines=reader == "csv")
    splits.info["sources"] = {"train": str(train), "val": str(val or train), "test": str(test or train)}
    return splits


def _renamed(new: str | None, old: str | None, old_key: str, new_key: str) -> str | None:
    """The value of a renamed setting: the new key's, else the deprecated key's (with a warning)."""
    if old in (None, ""):
        return new
    warnings.warn(f"dataset.{old_key} is deprecated: use dataset.{new_key}", DeprecationWarning, stacklevel=3)
    log.warning("dataset.%s is deprecated: use dataset.%s", old_key, new_key)
    if new not in (None, "") and new != old:
        raise UserError(f"dataset.{old_key}={old} and dataset.{new_key}={new}: set only dataset.{new_key}")
    return old


def csv(train: str | None = None, label: str = "label", features: list[str] | None = None,
        categorical: list[str] | None = None, val: str | None = None, test: str | None = None,
        val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0, sep: str = ",",
        on_bad: OnBad = "error", missing: Missing = "mean", path: str | None = None, val_path: str | None = None,
        test_path: str | None = None) -> Splits:
    """A CSV file with a header; val/test rows are carved out of ``train`` unless ``val``/``test`` files are given.

    ``path``, ``val_path`` and ``test_path`` are the 0.1 names of ``train``, ``val`` and ``test`` (deprecated).
    """
    train, val, test = (_renamed(train, path, "path", "train"), _renamed(val, val_path, "val_path", "val"),
                        _renamed(test, test_path, "test_path", "test"))
    return _files("csv", train, label, features, categorical, val, test, val_fraction, test_fraction, seed, sep)


def parquet(train: str | None = None, label: str = "label", features: list[str] | None = None,
            categorical: list[str] | None = None, val: str | None = None, test: str | None = None,
            val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0, on_bad: OnBad = "error",
            missing: Missing = "mean", path: str | None = None, val_path: str | None = None,
            test_path: str | None = None) -> Splits:
    """A parquet file, as :func:`csv`."""
    train, val, test = (_renamed(train, path, "path", "train"), _renamed(val, val_path, "val_path", "val"),
                        _renamed(test, test_path, "test_path", "test"))
    return _files("parquet", train, label, features, categorical, val, test, val_fraction, test_fraction, seed)


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
           val_fraction: float = 0.15, test_fraction: float = 0.0, seed: int = 0, on_bad: OnBad = "error",
           missing: Missing = "mean") -> Splits:
    """Data passed from Python (``taskhub.run("tabular", data=(X, y))``), found by its registry key."""
    splits = memory_data(key)
    frames = {name: as_frame(obj, label) if obj is not None else None for name, obj in splits.items()}
    return _splits(frames, label, features, categorical, val_fraction, test_fraction, seed, "data")
