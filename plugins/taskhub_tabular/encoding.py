"""Turn raw frames into tensors with state fitted on the training split only.

Numeric columns are standardised with the training mean and standard deviation, categorical
columns become indices into a training vocabulary (0 is "unseen or missing"), and labels
become class indices (classification) or standardised targets (regression). All of it is
plain lists and numbers, so it travels in checkpoints loaded with ``weights_only=True``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from taskhub import UserError
from taskhub.data import BadInputs

MISSING = ("mean", "drop", "error")
#: A text column whose non-empty training cells are at least this share numbers is numeric: its few
#: non-numbers are bad cells (``dataset.on_bad``), not a reason to embed the whole column as categories.
NUMERIC_SHARE = 0.9


@dataclass
class Encoder:
    label: str = "label"
    kind: str = "classification"                 # classification | regression
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    vocab: list[list[str]] = field(default_factory=list)
    classes: list[Any] = field(default_factory=list)
    target_mean: float = 0.0
    target_std: float = 1.0
    missing: str = "mean"

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def cardinalities(self) -> list[int]:
        return [len(v) + 1 for v in self.vocab]  # +1: index 0 for unseen or missing

    # --- fitting (training split only) ---------------------------------------------------
    @classmethod
    def fit(cls, train: pd.DataFrame, label: str, features: list[str] | None, categorical: list[str] | None,
            kind: str, missing: str, source: str, bad: BadInputs | None = None, lines: bool = False) -> Encoder:
        """Fit on the training frame. ``bad`` collects bad rows (an empty label, a non-number in a
        numeric column); ``lines``: the frame's index is a file's row, so name rows as ``file:line``."""
        if missing not in MISSING:
            raise UserError(f"dataset.missing={missing}: choose one of {', '.join(MISSING)}")
        features = features or [c for c in train.columns if c != label]
        if categorical is None:
            categorical = [c for c in features if not _mostly_numeric(train[c])]
        enc = cls(label=label, numeric=[c for c in features if c not in categorical],
                  categorical=[c for c in features if c in categorical], missing=missing)
        for c in enc.numeric:
            if not _mostly_numeric(train[c]):
                raise UserError(f"{source}: column '{c}' is not numeric; list it in dataset.categorical")
        train = enc.clean(train, source, bad=bad or BadInputs("error"), lines=lines)
        enc.kind = _kind(train[label]) if kind == "auto" else kind
        if enc.kind not in ("classification", "regression"):
            raise UserError(f"task.kind={kind}: choose auto, classification or regression")
        values = train[enc.numeric].to_numpy(dtype=np.float64) if enc.numeric else np.zeros((len(train), 0))
        enc.mean = np.nanmean(values, axis=0).tolist() if len(values) else [0.0] * len(enc.numeric)
        std = np.nanstd(values, axis=0) if len(values) else np.ones(len(enc.numeric))
        enc.std = np.where(np.isfinite(std) & (std > 0), std, 1.0).tolist()
        enc.vocab = [sorted({str(v) for v in train[c].dropna()}) for c in enc.categorical]
        y = train[label]
        if enc.kind == "classification":
            enc.classes = sorted({_plain(v) for v in y}, key=lambda v: (str(type(v)), v))
            if len(enc.classes) < 2:
                raise UserError(f"{source}: label column '{label}' has one class in the training split; "
                                "classification needs at least two")
        else:
            if not _is_numeric(y):
                raise UserError(f"{source}: label column '{label}' is not numeric; use task.kind=classification")
            enc.target_mean, enc.target_std = float(y.mean()), float(y.std(ddof=0)) or 1.0
        return enc

    # --- applying ------------------------------------------------------------------------
    def clean(self, frame: pd.DataFrame, source: str, with_label: bool = True, bad: BadInputs | None = None,
              lines: bool = False) -> pd.DataFrame:
        """Check and tidy rows: an empty label or a non-number in a numeric column is a bad row (``bad``'s
        policy: one line naming it, or left out and counted; without ``bad`` (predict) always an error);
        empty feature cells follow ``missing``."""
        missing_cols = [c for c in [*self.features, *([self.label] if with_label else [])] if c not in frame.columns]
        if missing_cols:
            raise UserError(f"{source}: missing column(s) {missing_cols}; the model was trained on {self.features}")
        frame = frame.copy()
        drop = pd.Series(False, index=frame.index)

        def report(rows: pd.Index, problem: Any) -> None:
            for row in rows:
                where = f"{source}:{row + 2}" if lines and isinstance(row, (int, np.integer)) else f"{source} row {row}"
                if bad is None:
                    raise UserError(f"{where}: {problem(row)}")
                bad.report(where, problem(row))
            drop.loc[rows] = True

        if with_label:
            report(frame.index[frame[self.label].isna()], lambda row: f"the label '{self.label}' is empty")
        for c in self.numeric:
            numbers = pd.to_numeric(frame[c], errors="coerce")
            wrong = frame.index[numbers.isna() & frame[c].notna()]
            if len(wrong):
                report(wrong, lambda row, c=c: f"column '{c}' holds {frame.at[row, c]!r}, not a number")
            frame[c] = numbers
        frame = frame[~drop]
        holes = frame[self.features].isna().any()
        if holes.any():
            if self.missing == "error":
                raise UserError(f"{source}: missing values in column(s) {list(holes[holes].index)}; "
                                "set dataset.missing=mean or drop")
            if self.missing == "drop":
                frame = frame.dropna(subset=self.features)
        return frame.reset_index(drop=True)

    def features_tensors(self, frame: pd.DataFrame) -> dict[str, torch.Tensor]:
        num = frame[self.numeric].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64) if self.numeric \
            else np.zeros((len(frame), 0))
        num = (num - np.asarray(self.mean)) / np.asarray(self.std)
        num = np.nan_to_num(num, nan=0.0)  # missing -> the training mean (0 after standardising)
        cat = np.zeros((len(frame), len(self.categorical)), dtype=np.int64)
        for j, (c, vocab) in enumerate(zip(self.categorical, self.vocab)):
            index = {v: i + 1 for i, v in enumerate(vocab)}
            cat[:, j] = [index.get(str(v), 0) if not _isna(v) else 0 for v in frame[c]]
        return {"num": torch.tensor(num, dtype=torch.float32), "cat": torch.from_numpy(cat)}

    def encode(self, frame: pd.DataFrame, source: str, bad: BadInputs | None = None,
               lines: bool = False) -> dict[str, torch.Tensor]:
        frame = self.clean(frame, source, bad=bad or BadInputs("error"), lines=lines)
        tensors = self.features_tensors(frame)
        y = frame[self.label]
        if self.kind == "classification":
            index = {str(c): i for i, c in enumerate(self.classes)}
            unknown = sorted({str(_plain(v)) for v in y} - set(index))
            if unknown:
                raise UserError(f"{source}: label value(s) {unknown[:5]} in '{self.label}' were not in the training "
                                f"split (classes: {[str(c) for c in self.classes][:10]})")
            tensors["target"] = torch.tensor([index[str(_plain(v))] for v in y], dtype=torch.long)
        else:
            target = (y.to_numpy(dtype=np.float64) - self.target_mean) / self.target_std
            tensors["target"] = torch.tensor(target, dtype=torch.float32)
        return tensors

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Encoder:
        return cls(**state)


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s)  # booleans count as numbers (0/1)


def _mostly_numeric(s: pd.Series) -> bool:
    """Numbers, or text whose non-empty cells are at least NUMERIC_SHARE numbers (read from a CSV,
    one typo makes pandas read a numeric column as text)."""
    if _is_numeric(s):
        return True
    cells = s.dropna()
    cells = cells[cells.astype(str).str.strip() != ""]
    if len(cells) == 0:
        return False
    return float(pd.to_numeric(cells, errors="coerce").notna().mean()) >= NUMERIC_SHARE


def _kind(y: pd.Series) -> str:
    """Integers, booleans and strings are classes; floats with many distinct values are a regression."""
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y) or pd.api.types.is_integer_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=np.float64)
    if np.all(values == np.round(values)) and len(np.unique(values)) <= 20:
        return "classification"
    return "regression"


def _plain(v: Any) -> Any:
    """A numpy scalar as the Python number or string it stands for (checkpoint- and JSON-friendly)."""
    v = v.item() if hasattr(v, "item") else v
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
