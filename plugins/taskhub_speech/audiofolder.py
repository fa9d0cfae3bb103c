"""Speech from the Hugging Face ``audiofolder`` layout (``dataset=audiofolder``).

``metadata.csv`` (or ``metadata.jsonl``) beside the clips, with a ``file_name`` column (the clip,
relative to the metadata's folder) and a transcription column (``transcription`` by default).
Either one metadata file in ``root`` (every split carved from it, seeded), or one per split in
``root/train/``, ``root/validation/`` (or ``val/``, ``valid/``, ``dev/``) and ``root/test/``; a split
without its folder is carved from train. Rows whose clip is missing or whose transcription is empty
follow ``on_bad`` (one line naming metadata:line, or skipped and counted); unreadable clips are
handled like every speech loader's (:func:`taskhub_speech.datasets.corpus_splits`).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from taskhub import UserError
from taskhub.data import BadInputs, Splits, require_dir
from taskhub_speech.datasets import Bucket, Normalize, Utterance, _carve, corpus_splits

SPLIT_FOLDERS = {"train": ("train",), "val": ("validation", "val", "valid", "dev"), "test": ("test",)}
METADATA = ("metadata.csv", "metadata.jsonl")


def _metadata(folder: Path) -> Path | None:
    return next((folder / name for name in METADATA if (folder / name).is_file()), None)


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """(column names, [(line number, row)]) of a metadata.csv or metadata.jsonl."""
    if path.suffix == ".jsonl":
        rows, columns = [], []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{n}: not a JSON object ({exc})") from None
            if not isinstance(row, dict):
                raise UserError(f"{path}:{n}: not a JSON object")
            columns += [k for k in row if k not in columns]
            rows.append((n, row))
        return columns, rows
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [(reader.line_num, row) for row in reader]
        return list(reader.fieldnames or []), rows


def read_metadata(path: Path, column: str, bad: BadInputs) -> list[Utterance]:
    """The utterances a metadata file lists; bad rows reported as ``metadata:line``."""
    try:
        columns, rows = _rows(path)
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 ({exc.reason})") from None
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV ({exc})") from None
    for needed, setting in (("file_name", None), (column, "dataset.transcription_column")):
        if needed not in columns:
            hint = f"; set {setting}" if setting else " (the clip's path, relative to this file's folder)"
            raise UserError(f"{path}: no column {needed!r} (columns: {', '.join(columns) or 'none'}){hint}")
    items = []
    for n, row in rows:
        where = f"{path}:{n}"
        name, text = str(row.get("file_name") or "").strip(), str(row.get(column) or "").strip()
        if not name:
            bad.report(where, "empty file_name")
            continue
        if not text:
            bad.report(f"{where} ({name})", f"empty transcription ({column!r})")
            continue
        clip = path.parent / name
        if not clip.is_file():
            bad.report(f"{where} ({clip})", "audio file not found")
            continue
        items.append(Utterance(f"{path.parent.name}/{name}", text, clip))
    return items


def audiofolder(root: str | None = None, transcription_column: str = "transcription", val_fraction: float = 0.1,
                test_fraction: float = 0.0, seed: int = 0, normalize: Normalize = None,
                max_duration: float | None = 20.0, bucket_size: Bucket = "auto", on_bad: str = "error") -> Splits:
    """The audiofolder layout in ``root`` (see the module docstring)."""
    base = require_dir(root, hint=" (the folder holding metadata.csv, or train/ validation/ test/ with one each)")
    bad = BadInputs(on_bad)
    found = {}
    for split, names in SPLIT_FOLDERS.items():
        meta = next((m for m in (_metadata(base / n) for n in names) if m is not None), None)
        if meta is not None:
            found[split] = meta
    if "train" not in found:
        meta = _metadata(base)
        if meta is None:
            raise UserError(f"dataset.root={root}: no metadata.csv there or in train/ (expected Hugging Face's "
                            f"audiofolder layout: metadata.csv with file_name and {transcription_column} columns)")
        found["train"] = meta
    parts = {split: read_metadata(meta, transcription_column, bad) for split, meta in found.items()}
    if not parts["train"]:
        bad.warn("rows")
        raise UserError(f"{found['train']}: no usable rows (every row was skipped)")
    tr, va, te = _carve(parts["train"], val_fraction, test_fraction, seed, has_val="val" in parts,
                        has_test="test" in parts)
    bad.warn("rows")
    data = corpus_splits(tr, parts.get("val", va), parts.get("test", te), normalize=normalize,
                         max_duration=max_duration, bucket_size=bucket_size, on_bad=on_bad, what="audiofolder")
    for problem, where in bad.skipped.items():
        data.skipped.setdefault(problem, []).extend(where)
    return data
