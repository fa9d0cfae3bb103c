"""Data fingerprints: per split, the number of examples and a content hash that changes when the
data change and stays when they do not.

The rule (docs/tracking.md, "Data fingerprints"), applied to each split's dataset object:

1. Its public attributes are walked (recursively, into nested datasets such as ``Subset``):
   tensors, numpy arrays and data frames are hashed by their bytes; ``pathlib.Path`` values and
   the entries of an attribute named ``files`` are files, hashed by size and content; numbers,
   strings and lists of them by value. Callables (transforms), ``None`` and ``_private``
   attributes are skipped: they are code, absent, or caches, not data (so a training split with an
   augmentation and the same split without one have the same fingerprint).
2. ``Splits.info["files"][split]`` (a list of paths), when a builder sets it, is hashed as files too.
3. When the walk finds no data at all (a dataset that reads lazily from something else), the
   fingerprint falls back to the length and the first and last items (random augmentation held
   fixed): weaker, and marked ``"method": "items"``.

File hashes are cached by (path, size, mtime) in ``$TASKHUB_CACHE_DIR`` (default
``~/.cache/taskhub``), so an unchanged dataset is not re-read on every run.
"""
from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SPLITS = ("train", "val", "test")
_CHUNK = 1 << 20
_MAX_DEPTH = 8


def cache_dir() -> Path:
    base = os.environ.get("TASKHUB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "taskhub")
    return Path(base)


class FileHashCache:
    """sha256 of files keyed by (absolute path, size, mtime_ns), in a small SQLite file.

    Best effort: an unwritable cache directory just means every file is hashed again.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.db: sqlite3.Connection | None = None
        self.hits = self.misses = 0
        if os.environ.get("TASKHUB_HASH_CACHE", "1") == "0":
            return
        try:
            path = path or cache_dir() / "file_hashes.sqlite"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=10)
            self.db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
                            "mtime_ns INTEGER, sha256 TEXT)")
        except (OSError, sqlite3.Error):
            self.db = None

    def digest(self, path: Path, size: int, mtime_ns: int) -> str:
        key = str(path)
        if self.db is not None:
            try:
                row = self.db.execute("SELECT sha256 FROM files WHERE path=? AND size=? AND mtime_ns=?",
                                      (key, size, mtime_ns)).fetchone()
            except sqlite3.Error:
                row = None
            if row:
                self.hits += 1
                return row[0]
        self.misses += 1
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        value = h.hexdigest()
        if self.db is not None:
            try:
                self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (key, size, mtime_ns, value))
            except sqlite3.Error:
                pass
        return value

    def close(self) -> None:
        if self.db is not None:
            try:
                self.db.commit()
                self.db.close()
            except sqlite3.Error:
                pass
            self.db = None


class _Walker:
    """Feeds a dataset's data, in a fixed order, into one sha256."""

    def __init__(self, cache: FileHashCache) -> None:
        self.h = hashlib.sha256()
        self.cache = cache
        self.seen: set[int] = set()
        self.files = 0
        self.file_bytes = 0
        self.arrays = 0
        self.values = 0

    def tag(self, text: str) -> None:
        self.h.update(text.encode() + b"\0")

    def feed(self, value: Any, depth: int = 0, as_file: bool = False) -> None:
        if depth > _MAX_DEPTH:
            return
        if value is None or isinstance(value, (bool, int, float, complex)):
            self.tag(repr(value))
            self.values += 1
        elif isinstance(value, str):
            if as_file:
                self.file(Path(value))
            else:
                self.tag("s" + value)
                self.values += 1
        elif isinstance(value, bytes):
            self.tag(f"b{len(value)}")
            self.h.update(value)
            self.values += 1
        elif isinstance(value, os.PathLike):
            self.file(Path(value))
        elif _is_tensor(value):
            self.tensor(value)
        elif type(value).__module__.startswith("numpy") and hasattr(value, "dtype"):
            self.array(value)
        elif type(value).__module__.startswith("pandas") and hasattr(value, "shape"):
            self.frame(value)
        elif type(value).__module__.startswith("PIL") and hasattr(value, "tobytes"):
            self.tag(f"image{value.mode}{value.size}")
            self.h.update(value.tobytes())
            self.arrays += 1
        elif isinstance(value, Mapping):
            if id(value) in self.seen:
                return
            self.seen.add(id(value))
            self.tag(f"map{len(value)}")
            for key in sorted(value, key=str):
                self.tag(str(key))
                self.feed(value[key], depth + 1, as_file=as_file)
        elif isinstance(value, (list, tuple, range, set, frozenset)):
            if id(value) in self.seen:
                return
            self.seen.add(id(value))
            items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
            self.tag(f"seq{len(value)}")
            if len(items) > 1 and self.tensor_list(items):
                return
            for item in items:
                self.feed(item, depth + 1, as_file=as_file)
        elif callable(value) or isinstance(value, type):
            return  # code (transforms, collate functions, classes), not data
        elif hasattr(value, "__dict__"):
            self.object(value, depth)

    def object(self, obj: Any, depth: int) -> None:
        if id(obj) in self.seen:
            return
        self.seen.add(id(obj))
        self.tag(f"obj{type(obj).__qualname__}")
        for name in sorted(vars(obj)):
            value = vars(obj)[name]
            # A transform set for training and None for evaluation: the same data either way.
            if name.startswith("_") or value is None or callable(value) or isinstance(value, type):
                continue
            self.tag(name)
            self.feed(value, depth + 1, as_file=name == "files")

    def file(self, path: Path) -> None:
        try:
            st = path.stat()
        except OSError:
            self.tag(f"missing:{path.name}")
            return
        if not path.is_file():
            self.tag("dir")  # a root folder: its files are hashed where the dataset lists them
            return
        self.tag(f"f{st.st_size}")
        self.tag(self.cache.digest(path.resolve(), st.st_size, st.st_mtime_ns))
        self.files += 1
        self.file_bytes += st.st_size

    def tensor(self, t: Any) -> None:
        import torch

        t = t.detach()
        if t.is_sparse or t.is_quantized:
            t = t.to_dense() if t.is_sparse else t.dequantize()
        t = t.cpu().contiguous()
        self.tag(f"t{t.dtype}{tuple(t.shape)}")
        if t.numel():
            self.h.update(memoryview(t.reshape(-1).view(torch.uint8).numpy()))
        self.arrays += 1

    def tensor_list(self, items: Any) -> bool:
        """A list of dense CPU tensors of one dtype (token ids per sentence...) hashed in one go:
        their shapes, then their values concatenated. False when the list is anything else."""
        import torch

        first = items[0]
        if not isinstance(first, torch.Tensor):
            return False
        dtype = first.dtype
        if not all(isinstance(t, torch.Tensor) and t.dtype == dtype and t.layout == torch.strided
                   and t.device.type == "cpu" and not t.is_quantized for t in items):
            return False
        self.tag(f"tl{dtype}")
        self.tag(repr([tuple(t.shape) for t in items]))
        with torch.no_grad():
            flat = items if all(t.dim() == 1 for t in items) else [t.reshape(-1) for t in items]
            self.tensor(torch.cat(list(flat)))
        return True

    def array(self, a: Any) -> None:
        import numpy as np

        a = np.asarray(a)
        self.tag(f"a{a.dtype}{a.shape}")
        if a.dtype == object:
            self.feed(a.tolist())
        else:
            self.h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
        self.arrays += 1

    def frame(self, df: Any) -> None:
        import pandas as pd

        self.tag(f"df{df.shape}")
        if hasattr(df, "columns"):
            self.feed([str(c) for c in df.columns])
            self.feed([str(d) for d in df.dtypes])
        self.h.update(memoryview(pd.util.hash_pandas_object(df, index=True).to_numpy()))
        self.arrays += 1

    @property
    def found_data(self) -> bool:
        return bool(self.files or self.arrays or self.values > 64)


def fingerprint_dataset(dataset: Any, declared_files: list[Any] | None = None,
                        cache: FileHashCache | None = None) -> dict[str, Any]:
    """``{"examples", "sha256", "method", "files", "bytes", "seconds"}`` for one split."""
    started = time.perf_counter()
    own = cache is None
    cache = cache or FileHashCache()
    try:
        n = len(dataset)
        walker = _Walker(cache)
        walker.tag(f"len{n}")
        if declared_files:
            walker.tag("declared")
            walker.feed(list(declared_files), as_file=True)
        walker.feed(dataset)
        method = "files" if walker.files else "tensors" if walker.arrays else "attributes"
        if not walker.found_data and n:
            method = "items"
            for i in sorted({0, n - 1}):
                walker.tag(f"item{i}")
                walker.feed(_item(dataset, i))
        return {"examples": n, "sha256": walker.h.hexdigest(), "method": method, "files": walker.files,
                "bytes": walker.file_bytes, "seconds": round(time.perf_counter() - started, 3)}
    finally:
        if own:
            cache.close()


def fingerprint_splits(data: Any) -> dict[str, dict[str, Any]]:
    """The fingerprint of each split a :class:`taskhub.data.Splits` holds."""
    info = getattr(data, "info", None) or {}
    declared = info.get("files") if isinstance(info.get("files"), Mapping) else {}
    cache = FileHashCache()
    try:
        out = {}
        for split in SPLITS:
            dataset = getattr(data, split, None)
            if dataset is None:
                continue
            out[split] = fingerprint_dataset(dataset, declared.get(split), cache)
        return out
    finally:
        cache.close()


def _item(dataset: Any, index: int) -> Any:
    """``dataset[index]`` with every random generator seeded, so augmentation does not change it."""
    import torch

    state = random.getstate()
    try:
        import numpy as np

        np_state = np.random.get_state()
    except ImportError:
        np, np_state = None, None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        random.seed(0)
        if np is not None:
            np.random.seed(0)
        try:
            return dataset[index]
        finally:
            random.setstate(state)
            if np is not None:
                np.random.set_state(np_state)


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "dtype") and hasattr(value, "numel")


def same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two split fingerprints describe the same data."""
    return bool(a and b) and a.get("examples") == b.get("examples") and a.get("sha256") == b.get("sha256")
