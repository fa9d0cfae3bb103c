"""What a task says about its data, for ``taskhub data check`` and the check at the start of every run.

:meth:`taskhub.Task.describe_data` returns a :class:`DataDescription`; its default is
:func:`describe_splits`, which introspects the datasets generically (``InMemoryDataset``
tensors, a ``label``/``labels``/``target`` column, a ``files`` attribute, per-example lists).
A plugin that knows more (box counts, durations, raw columns) builds on it in its own
``data_check.py``. The host's checks and report read only these fields.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPLITS = ("train", "val", "test")
#: per-example columns that hold the class (the first one found is used)
LABEL_KEYS = ("label", "labels", "target", "targets", "y")


@dataclass
class SplitDescription:
    """One split.

    ``counts``: class name -> examples (or boxes, when ``count_unit="boxes"``).
    ``lengths``: a name (``"tokens"``, ``"seconds"``, ``"transcript characters"``) -> one value per example.
    ``sizes``: (width, height) per example, where items vary in size (images, spectrograms).
    ``keys``: a content hash per example (duplicates between splits); ``names``: what to call
    each example in a message (a file path), else ``split[i]``.
    ``columns``: for tables, column -> ``{"kind", "min", "max", "missing", "distinct"}``.
    """

    examples: int
    counts: dict[str, int] = field(default_factory=dict)
    count_unit: str = "examples"
    lengths: dict[str, list[float]] = field(default_factory=dict)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)

    def name(self, split: str, index: int) -> str:
        return self.names[index] if index < len(self.names) else f"{split}[{index}]"


@dataclass
class Sample:
    """One example to draw: an image ([C, H, W] / [H, W], with optional ``boxes`` [x1, y1, x2, y2]
    in pixels and their ``box_labels``), a text, or a waveform with its ``sample_rate``."""

    caption: str
    image: Any = None
    boxes: list[list[float]] = field(default_factory=list)
    box_labels: list[str] = field(default_factory=list)
    text: str | None = None
    audio: Any = None
    sample_rate: int = 16000


@dataclass
class DataDescription:
    """Everything the data check reads: per-split descriptions, the class names (in the task's
    order; empty for regression or transcription), samples for pictures, and what the plugin
    itself found: ``notes`` (warnings) and ``problems`` (each one line that makes the data unusable)."""

    splits: dict[str, SplitDescription | None]
    labels: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    classification: bool = True
    #: lengths for which 0 is normal (``"boxes per image"``: negatives), not reported as empty items
    zero_ok: list[str] = field(default_factory=list)


def describe_splits(data: Any, samples: int = 16) -> DataDescription:
    """The generic description of a :class:`taskhub.data.Splits` (what every task gets by default).

    Class names come from ``info["labels"]`` (or ``info["classes"]``); class indices from a
    ``label``/``labels``/``target`` tensor or list per example; content hashes from a ``files``
    attribute (file contents, through the data fingerprint's hash cache) or from each example's
    tensors; lengths from per-example sequences of varying length. ``samples`` images (spread
    over the classes) are taken for the sample grid; no example is decoded more than once.
    """
    info = getattr(data, "info", None) or {}
    names = [str(n) for n in (info.get("labels") or info.get("classes") or [])]
    out = DataDescription(splits={}, labels=names)
    for split in SPLITS:
        ds = getattr(data, split, None)
        out.splits[split] = None if ds is None else describe_dataset(ds, names, split)
        declared = (info.get("files") or {}).get(split) if isinstance(info.get("files"), dict) else None
        described = out.splits[split]
        if described is not None and declared and len(declared) == described.examples and not described.names:
            described.names = [str(f) for f in declared]  # the builder's file list names the examples
    train = getattr(data, "train", None)
    if train is not None and samples:
        out.samples = image_samples(train, names, samples)
    labels_found = any(d is not None and d.counts for d in out.splits.values())
    out.classification = bool(names) or labels_found
    return out


def columns_of(ds: Any) -> dict[str, Any]:
    """The per-example columns of a dataset: an InMemoryDataset's tensors, else its public
    attributes holding one entry per example (``files``, ``labels``, token lists...)."""
    n = len(ds)
    tensors = getattr(ds, "tensors", None)
    if isinstance(tensors, dict):
        return dict(tensors)
    found: dict[str, Any] = {}
    for name, value in vars(ds).items() if hasattr(ds, "__dict__") else ():
        if name.startswith("_") or callable(value) or isinstance(value, (str, bytes, dict)):
            continue
        try:
            if len(value) == n:
                found[name] = value
        except TypeError:
            continue
    return found


def describe_dataset(ds: Any, names: Sequence[str], split: str) -> SplitDescription:
    """One split, generically (see :func:`describe_splits`)."""
    n = len(ds)
    out = SplitDescription(examples=n)
    columns = columns_of(ds)
    label_key = next((k for k in LABEL_KEYS if k in columns), None)
    if label_key is not None:
        out.counts, regression = class_counts(columns[label_key], names)
        if regression is not None:
            out.columns[label_key] = regression
    if "files" in columns:
        out.names = [str(f) for f in columns["files"]]
        out.keys = file_keys(columns["files"])
    else:
        out.keys = row_keys({k: v for k, v in columns.items() if k != label_key}, n)
    for key, value in columns.items():
        if key in (label_key, "files"):
            continue
        lengths = _lengths(value)
        if lengths is not None:
            out.lengths[f"{key} length"] = lengths
        sizes = _sizes(value)
        if sizes:
            out.sizes = sizes
        stats = _table_stats(value)
        if stats:
            out.columns.update({f"{key}[{i}]": s for i, s in enumerate(stats)})
    return out


def class_counts(labels: Any, names: Sequence[str]) -> tuple[dict[str, int], dict[str, Any] | None]:
    """(class name -> count, None) for class labels; ({}, value stats) for real-valued targets."""
    import torch

    if isinstance(labels, torch.Tensor):
        if labels.is_floating_point():
            return {}, _value_stats(labels.reshape(-1).double().numpy())
        if labels.dim() != 1:
            return {}, None
        values: list[Any] = labels.tolist()
    else:
        values = [v.item() if hasattr(v, "item") and getattr(v, "numel", lambda: 1)() == 1 else v for v in labels]
        if values and not all(isinstance(v, (int, str)) for v in values):
            return {}, None
    counts = Counter(names[v] if isinstance(v, int) and 0 <= v < len(names) else str(v) for v in values)
    ordered = {name: counts.get(name, 0) for name in names}
    ordered.update({k: v for k, v in sorted(counts.items()) if k not in ordered})
    return ordered, None


def file_keys(files: Sequence[Any]) -> list[str]:
    """sha256 of each file's content (cached by path, size and mtime, shared with the data fingerprint)."""
    from taskhub.tracking.fingerprint import FileHashCache

    cache = FileHashCache()
    keys = []
    try:
        for f in files:
            path = Path(f)
            try:
                st = path.stat()
                keys.append(cache.digest(path.resolve(), st.st_size, st.st_mtime_ns))
            except OSError:
                keys.append(f"missing:{path}")
    finally:
        cache.close()
    return keys


def row_keys(columns: dict[str, Any], n: int) -> list[str]:
    """A hash of each example's data across the tensor/array columns (empty when there are none)."""
    import numpy as np
    import torch

    parts = []
    for value in columns.values():
        if isinstance(value, torch.Tensor) and value.dim() >= 1:
            parts.append(value.detach().cpu().contiguous().reshape(n, -1).numpy())
        elif isinstance(value, np.ndarray) and value.ndim >= 1:
            parts.append(np.ascontiguousarray(value).reshape(n, -1))
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], (torch.Tensor, str)):
            parts.append(value)
    if not parts:
        return []
    keys = []
    for i in range(n):
        h = hashlib.blake2b(digest_size=16)
        for part in parts:
            item = part[i]
            if isinstance(item, str):
                h.update(item.encode())
            elif isinstance(item, torch.Tensor):
                h.update(item.detach().cpu().contiguous().numpy().tobytes())
            else:
                h.update(np.ascontiguousarray(item).tobytes())
        keys.append(h.hexdigest())
    return keys


def _lengths(value: Any) -> list[float] | None:
    """Lengths of per-example sequences that vary in length (token ids, transcripts)."""
    import torch

    if not isinstance(value, (list, tuple)) or not value:
        return None
    first = value[0]
    if isinstance(first, torch.Tensor) and first.dim() == 1 or isinstance(first, (list, str)):
        lengths = [float(len(v)) for v in value]
        return lengths if len(set(lengths)) > 1 or isinstance(first, str) else None
    return None


def _sizes(value: Any) -> list[tuple[int, int]]:
    """(width, height) per example of a list of image tensors that differ in size."""
    import torch

    if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor) and value[0].dim() in (2, 3):
        sizes = [(int(v.shape[-1]), int(v.shape[-2])) for v in value]
        return sizes if len(set(sizes)) > 1 else []
    return []


def _value_stats(values: Any) -> dict[str, Any]:
    import numpy as np

    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return {"kind": "number", "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None, "missing": int((~np.isfinite(values)).sum()),
            "distinct": int(np.unique(finite).size)}


def _table_stats(value: Any) -> list[dict[str, Any]]:
    """Per-column value ranges and missing values of a 2-D float feature tensor (tables)."""
    import torch

    if not isinstance(value, torch.Tensor) or value.dim() != 2 or not value.is_floating_point() or value.shape[1] > 64:
        return []
    return [_value_stats(value[:, j].double().numpy()) for j in range(value.shape[1])]


def image_samples(ds: Any, names: Sequence[str], count: int) -> list[Sample]:
    """Up to ``count`` images spread over the classes (round robin), from the in-memory tensors
    when there are some, else by reading those items only."""
    import torch

    columns = columns_of(ds)
    label_key = next((k for k in LABEL_KEYS if k in columns), None)
    labels = columns.get(label_key) if label_key else None
    picks = spread_indices(labels, len(ds), count)
    images = columns.get("image")
    samples = []
    for i in picks:
        if isinstance(images, torch.Tensor) and images.dim() == 4:
            image = images[i]
        else:
            item = ds[i]
            image = item.get("image") if isinstance(item, dict) else None
            if image is None:
                return []
        if not isinstance(image, torch.Tensor) or image.dim() not in (2, 3):
            return []
        label = int(labels[i]) if labels is not None and isinstance(labels[i], (int, torch.Tensor)) else None
        caption = names[label] if label is not None and 0 <= label < len(names) else (str(label) if label is not None else f"#{i}")
        samples.append(Sample(caption=caption, image=image))
    return samples


def spread_indices(labels: Any, n: int, count: int) -> list[int]:
    """``count`` example indices taking each class in turn (the first examples when no labels)."""
    if labels is None or n == 0:
        return list(range(min(n, count)))
    try:
        values = [int(v) for v in labels[: min(n, 20000)]]
    except (TypeError, ValueError):
        return list(range(min(n, count)))
    by_class: dict[int, list[int]] = {}
    for i, v in enumerate(values):
        if len(by_class.setdefault(v, [])) < count:
            by_class[v].append(i)
    picks: list[int] = []
    while len(picks) < min(count, n) and any(by_class.values()):
        for v in sorted(by_class):
            if by_class[v] and len(picks) < count:
                picks.append(by_class[v].pop(0))
    return picks
