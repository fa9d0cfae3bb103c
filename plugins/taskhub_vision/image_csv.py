"""Image classification from CSV files of image paths and labels (``dataset=image_csv``).

One CSV per split (``train`` required; ``val``/``test`` optional, carved from train by the one
seeded rule when absent), with a path column and a label column. Relative paths resolve against
``root`` (default: each CSV's own folder). Class names are the training labels, sorted. A row whose
image is missing or whose label is empty follows ``on_bad``: one line naming csv:line, or skipped
and counted. Images decode like ``imagefolder``'s (same sizes, channels and in-memory rule).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from taskhub import UserError
from taskhub.data import BadInputs, Splits, carve_splits, require_dir, require_file
from taskhub_vision.datasets import ImageFiles, _in_memory, _pair, decode_images


def read_rows(path: Path, path_column: str, label_column: str, root: Path | None, setting: str, bad: BadInputs
              ) -> tuple[list[Path], list[str]]:
    """(image files, labels) of one CSV; bad rows are reported to ``bad`` as ``csv:line``."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            missing = [c for c in (path_column, label_column) if c not in columns]
            if missing:
                keys = {path_column: "dataset.path_column", label_column: "dataset.label_column"}
                raise UserError(f"{path}: no column {missing[0]!r} (columns: {', '.join(columns) or 'none'}); "
                                f"set {keys[missing[0]]}")
            base = root if root is not None else path.parent
            files, labels = [], []
            for row in reader:
                where = f"{path}:{reader.line_num}"
                name, label = (row.get(path_column) or "").strip(), (row.get(label_column) or "").strip()
                if not name:
                    bad.report(where, f"empty {path_column!r}")
                    continue
                if not label:
                    bad.report(f"{where} ({name})", f"empty label ({label_column!r})")
                    continue
                file = Path(name).expanduser()
                file = file if file.is_absolute() else base / file
                if not file.is_file():
                    bad.report(f"{where} ({file})", "image file not found")
                    continue
                files.append(file)
                labels.append(label)
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 CSV ({exc.reason}); check {setting}") from None
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV ({exc}); check {setting}") from None
    return files, labels


def survey_csv(dataset: Any, limit: int = 1000) -> dict[str, object]:
    """What ``auto`` image settings need (see :func:`taskhub_vision.datasets.survey`), from the
    training CSV's images' headers; rows that are bad are left to the builder to report."""
    from PIL import Image, UnidentifiedImageError

    root = require_dir(dataset.get("root"), "dataset.root") if dataset.get("root") else None
    files, _ = read_rows(require_file(dataset.get("train") or "", "dataset.train"), str(dataset.get("path_column")),
                         str(dataset.get("label_column")), root, "dataset.train", BadInputs("skip"))
    if not files:
        raise UserError(f"dataset.train={dataset.get('train')}: no rows with an existing image and a label")
    sample = files
    if len(files) > limit:
        pick = np.random.default_rng(int(dataset.get("seed") or 0)).choice(len(files), limit, replace=False)
        sample = [files[i] for i in sorted(pick)]
    sizes, modes = [], []
    for f in sample:
        try:
            with Image.open(f) as img:
                sizes.append(img.size)
                modes.append(img.mode)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise UserError(f"{f}: cannot read this image ({exc}); fix or remove the file") from None
    return {"sizes": sizes, "modes": modes, "files": sample, "count": len(files)}


def image_csv(train: str | None = None, val: str | None = None, test: str | None = None, path_column: str = "path",
              label_column: str = "label", root: str | None = None, image_size: int | list[int] = 64,
              grayscale: bool = False, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0,
              in_memory: bool | None = None, on_bad: str = "error") -> Splits:
    """CSV files of (image path, label) rows as classification splits (see the module docstring)."""
    if not train:
        raise UserError("dataset.train is not set: pass dataset.train=/path/to/train.csv")
    bad = BadInputs(on_bad)
    base = require_dir(root, "dataset.root") if root else None
    parts: dict[str, tuple[list[Path], list[str]]] = {}
    for split, file in (("train", train), ("val", val), ("test", test)):
        if file:
            parts[split] = read_rows(require_file(file, f"dataset.{split}"), path_column, label_column, base,
                                     f"dataset.{split}", bad)
    bad.warn("rows")
    files, names = parts["train"]
    if not files:
        raise UserError(f"dataset.train={train}: no rows with an existing image and a label")
    labels = sorted(set(names))
    index = {name: i for i, name in enumerate(labels)}
    for split in ("val", "test"):
        unknown = sorted(set(parts.get(split, ([], []))[1]) - set(index))
        if unknown:
            raise UserError(f"dataset.{split}={val if split == 'val' else test}: labels {unknown[:10]} do not occur "
                            f"in dataset.train; every class must have training images")
    tr, va, te = carve_splits(len(files), has_val="val" in parts, has_test="test" in parts,
                              val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    pick = lambda idx: ([files[i] for i in idx.tolist()], [names[i] for i in idx.tolist()])  # noqa: E731
    chosen = {"train": pick(tr), "val": parts["val"] if "val" in parts else pick(va),
              "test": parts["test"] if "test" in parts else pick(te)}
    channels, size = (1 if grayscale else 3), _pair(image_size)
    if in_memory is None:  # hold decoded images in memory up to ~1 GiB (as imagefolder does)
        in_memory = sum(len(f) for f, _ in chosen.values()) * channels * size[0] * size[1] <= 1 << 30

    def build(split: str) -> Dataset | None:
        fs, ls = chosen[split]
        if not fs:
            return None
        ys = [index[name] for name in ls]
        if in_memory:
            return _in_memory(decode_images(fs, channels, size, split), torch.tensor(ys))
        return ImageFiles(fs, ys, channels, size)

    info = {"labels": labels, "channels": channels, "image_size": list(size)}
    return Splits(train=build("train"), val=build("val"), test=build("test"), info=info, skipped=bad.skipped)
