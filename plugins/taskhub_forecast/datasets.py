"""Time-series sources: each builder returns :class:`taskhub.data.Splits` whose train, val and
test are consecutive ranges of one series (``[time, channels]`` float64 arrays, in time order).

Builders only read, order and cut; the task fits scaling on the training range and cuts windows
(a val or test window may read the end of the range before it as its input), so every source
(built-in, CSV, arrays) is treated the same way.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from taskhub import UserError
from taskhub.data import Splits, memory_data, require_file

log = logging.getLogger("taskhub")


@dataclass
class Series:
    """``values`` [time, channels] (float64), in time order, with the cut points between splits.

    ``train_end``/``val_end`` are indices: train is ``[0, train_end)``, val ``[train_end,
    val_end)``, test ``[val_end, len)``. ``times`` holds the time column (for plots), if any.
    """

    values: np.ndarray
    columns: list[str]
    train_end: int
    val_end: int
    times: np.ndarray | None = None
    source: str = "data"

    def splits(self) -> Splits:
        """The three ranges as the data contract's Splits (``info``: columns, times, source)."""
        v = self.values
        return Splits(v[: self.train_end], v[self.train_end: self.val_end], v[self.val_end:],
                      info={"columns": list(self.columns), "times": self.times, "source": self.source})

    @classmethod
    def from_splits(cls, splits: Splits) -> Series:
        """The whole series back from its ranges (what windows and plots read)."""
        parts = [p for p in (splits.train, splits.val, splits.test) if p is not None]
        train_len, val_len = len(splits.train), len(splits.val) if splits.val is not None else 0
        return cls(np.concatenate(parts), list(splits.info["columns"]), train_len, train_len + val_len,
                   splits.info.get("times"), str(splits.info.get("source", "data")))


def cut_points(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Chronological cut points: the last ``test_fraction`` is test, the ``val_fraction`` before it val."""
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise UserError(f"dataset.val_fraction={val_fraction}, test_fraction={test_fraction}: "
                        "each at least 0 and together below 1")
    test_len, val_len = int(round(n * test_fraction)), int(round(n * val_fraction))
    return n - val_len - test_len, n - test_len


def synthetic(length: int = 3000, season: int = 24, trend: float = 0.01, amplitude: float = 10.0,
              noise: float = 2.0, ar: float = 0.8, level: float = 50.0, val_fraction: float = 0.15,
              test_fraction: float = 0.15, seed: int = 0) -> Splits:
    """A learnable hourly-like series, no download: level + linear trend + a daily cycle with a
    second harmonic + AR(1) noise. The trend moves the test range above anything seen in
    training (as real data does), which is why the task normalises each window."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    shocks = rng.standard_normal(length) * noise
    ar_noise = np.zeros(length)
    for i in range(1, length):  # AR(1): recent errors persist, which the model can use and a seasonal copy cannot
        ar_noise[i] = ar * ar_noise[i - 1] + shocks[i]
    cycle = np.sin(2 * np.pi * t / season) + 0.5 * np.sin(4 * np.pi * t / season + 1.0)
    values = level + trend * t + amplitude * cycle + ar_noise
    train_end, val_end = cut_points(length, val_fraction, test_fraction)
    return Series(values[:, None], ["value"], train_end, val_end, t, "synthetic").splits()


def _numeric_columns(frame: pd.DataFrame, columns: list[str] | None, time_column: str | None, source: str) -> list[str]:
    shown = ", ".join(map(str, frame.columns[:30]))
    if columns:
        for c in columns:
            if c not in frame.columns:
                raise UserError(f"{source}: no value column '{c}'; columns are: {shown}. Fix dataset.columns")
            if not pd.api.types.is_numeric_dtype(frame[c]):
                raise UserError(f"{source}: value column '{c}' is not numeric; pick numeric dataset.columns")
        return list(columns)
    found = [c for c in frame.columns if c != time_column and pd.api.types.is_numeric_dtype(frame[c])]
    if not found:
        raise UserError(f"{source}: no numeric value columns (columns: {shown}); set dataset.columns=[...]")
    return found


def from_frame(frame: pd.DataFrame, time_column: str | None, columns: list[str] | None, source: str,
               val_fraction: float, test_fraction: float, cuts: tuple[int, int] | None = None,
               times_from: str | None = None) -> Series:
    """A Series from a frame: sorted by ``time_column`` (parsed as dates unless numeric), missing values
    interpolated. ``times_from``: a time column kept for plots and left out of the values, without sorting."""
    times = None
    if times_from and times_from in frame.columns:
        times = frame[times_from].to_numpy()
        columns = columns or [c for c in frame.columns if c != times_from and pd.api.types.is_numeric_dtype(frame[c])]
    if time_column:
        if time_column not in frame.columns:
            raise UserError(f"{source}: no time column '{time_column}'; columns are: "
                            f"{', '.join(map(str, frame.columns[:30]))}. Set dataset.time_column=COLUMN (or null)")
        raw = frame[time_column]
        try:
            parsed = raw if pd.api.types.is_numeric_dtype(raw) else pd.to_datetime(raw)
        except (ValueError, TypeError) as exc:
            raise UserError(f"{source}: time column '{time_column}' is not dates or numbers ({exc})") from None
        frame = frame.assign(**{time_column: parsed}).sort_values(time_column, kind="stable").reset_index(drop=True)
        times = frame[time_column].to_numpy()
    columns = _numeric_columns(frame, columns, time_column, source)
    values = frame[columns].astype("float64").interpolate(limit_direction="both").to_numpy()
    if np.isnan(values).any():
        raise UserError(f"{source}: a value column is entirely empty")
    train_end, val_end = cuts or cut_points(len(values), val_fraction, test_fraction)
    return Series(values, [str(c) for c in columns], train_end, val_end, times, source)


def _read_csv(path: str, sep: str) -> pd.DataFrame:
    p = require_file(path, "csv file", hint=" (set dataset.train=FILE)")
    try:
        return pd.read_csv(p, sep=sep)
    except Exception as exc:  # pandas raises many types; the user needs the file and the reason
        raise UserError(f"{path}: cannot read as csv ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def csv(train: str | None = None, val: str | None = None, test: str | None = None, time_column: str | None = None,
        columns: list[str] | None = None, val_fraction: float = 0.15, test_fraction: float = 0.15, sep: str = ",",
        path: str | None = None) -> Splits:
    """A CSV with an optional time column and one or more numeric value columns (all forecast).

    ``train`` holds the whole series (cut chronologically by the fractions), or its first part when
    ``val``/``test`` files hold the parts after it (joined in that order). ``path`` is the 0.1 name of
    ``train`` (deprecated).
    """
    if path not in (None, ""):
        warnings.warn("dataset.path is deprecated: use dataset.train", DeprecationWarning, stacklevel=2)
        log.warning("dataset.path is deprecated: use dataset.train")
        if train not in (None, "") and train != path:
            raise UserError(f"dataset.path={path} and dataset.train={train}: set only dataset.train")
        train = path
    if train in (None, "", "???"):
        raise UserError("dataset.train is not set: pass dataset.train=/path/to/series.csv dataset.time_column=COLUMN")
    if not val and not test:
        return from_frame(_read_csv(train, sep), time_column, columns, str(train), val_fraction, test_fraction).splits()
    parts = {"train": _read_csv(train, sep), "val": _read_csv(val, sep) if val else None,
             "test": _read_csv(test, sep) if test else None}
    if parts["val"] is None:  # the val range is carved from the end of train
        whole = from_frame(parts["train"], time_column, columns, str(train), val_fraction, 0)
        cut = whole.train_end
        parts["train"], parts["val"] = parts["train"].iloc[:cut], parts["train"].iloc[cut:]
    frame = pd.concat([p for p in parts.values() if p is not None], ignore_index=True)
    n_train, n_val = len(parts["train"]), len(parts["val"])
    # Given files are already chronological: keep their order (no sort) and cut where they meet.
    return from_frame(frame, None, columns, str(train), 0, 0, cuts=(n_train, n_train + n_val),
                      times_from=time_column).splits()


def _as_frame(obj: Any) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj.reset_index(drop=True)
    if isinstance(obj, pd.Series):
        return obj.reset_index(drop=True).to_frame(name=str(obj.name or "value"))
    array = np.asarray(obj, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise UserError(f"data: a series must be 1-D (time) or 2-D (time, channels), got shape {array.shape}")
    return pd.DataFrame(array, columns=["value"] if array.shape[1] == 1 else [f"value{i}" for i in range(array.shape[1])])


def arrays(key: str, time_column: str | None = None, columns: list[str] | None = None, val_fraction: float = 0.15,
           test_fraction: float = 0.15) -> Splits:
    """A series passed from Python (array, pandas Series or DataFrame); with ``data={"train": a, "val": b,
    "test": c}`` the pieces are joined in that order and cut where they meet."""
    splits = memory_data(key)
    parts = {name: _as_frame(obj) for name, obj in splits.items() if obj is not None}
    if len(parts) == 1:
        return from_frame(parts["train"], time_column, columns, "data", val_fraction, test_fraction).splits()
    frame = pd.concat(list(parts.values()), ignore_index=True)
    n_train = len(parts["train"])
    n_val = len(parts.get("val", ()))
    # Given pieces are already chronological: keep their order (no sort) and cut where they meet.
    return from_frame(frame, None, columns, "data", 0, 0, cuts=(n_train, n_train + n_val)).splits()
