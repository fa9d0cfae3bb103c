"""Detection data in the YOLO txt layout, as Ultralytics writes it.

A ``data.yaml`` names the classes (``names``: a list, or ``{id: name}``) and the splits
(``train``/``val``/``test``: image folders or ``.txt`` lists of images, relative to ``path``, which
is itself relative to the yaml's folder). Each image ``.../images/<split>/X.jpg`` has its labels in
``.../labels/<split>/X.txt``, one ``class cx cy w h`` line per object, normalised to [0, 1]; an
image without a label file has no objects. Returns :class:`taskhub.data.Splits` with xyxy pixel
boxes, like every other detection reader (:mod:`taskhub_detection.formats`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from taskhub import UserError
from taskhub.data import Splits, require_dir, require_file
from taskhub_detection.data import (IMAGE_SUFFIXES, BadBoxes, DetectionDataset, image_size, on_bad_policy, splits,
                                    target)
from taskhub_detection.formats import _present, inside_root

#: how far (normalised units) a coordinate may leave [0, 1] before its line counts as bad (rounding in exports)
NORMALISED_TOLERANCE = 0.01


def read_data_yaml(path: Path) -> dict[str, Any]:
    """The parsed ``data.yaml`` (safe YAML: a dataset file never runs code)."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: not valid YAML ({first})") from None
    if not isinstance(doc, dict) or "train" not in doc or "names" not in doc:
        raise UserError(f"{path}: not a YOLO data.yaml (needs at least train and names)")
    return doc


def class_names(doc: dict[str, Any], path: Path) -> list[str]:
    """``names`` as a list indexed by class id (a ``{id: name}`` mapping must cover 0..N-1)."""
    names = doc["names"]
    if isinstance(names, dict):
        try:
            ids = sorted(int(k) for k in names)
        except (TypeError, ValueError):
            raise UserError(f"{path}: names keys must be class ids 0..N-1, got {list(names)[:10]}") from None
        if ids != list(range(len(ids))):
            raise UserError(f"{path}: names ids must be 0..{len(ids) - 1} without gaps, got {ids[:10]}")
        names = [names[k] if k in names else names[str(k)] for k in ids]
    if not isinstance(names, list) or not names or not all(str(n).strip() for n in names):
        raise UserError(f"{path}: names must be a non-empty list (or {{id: name}}) of class names")
    return [str(n) for n in names]


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder in the path becomes ``labels``, suffix ``.txt``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def split_images(entry: Any, base: Path, where: str, allow_outside_root: bool, bad: BadBoxes) -> list[Path]:
    """The images of one split entry: a folder (searched recursively), a ``.txt`` list (one image a
    line, relative to ``base`` or to the list's folder for ``./`` lines), or a list of those."""
    entries = entry if isinstance(entry, list) else [entry]
    images: list[Path] = []
    for item in entries:
        path = base / str(item)
        if not allow_outside_root and not path.resolve().is_relative_to(base.resolve()):
            raise UserError(f"{where}: {item!r} leaves the dataset folder {base} "
                            f"(set dataset.allow_outside_root=true if that is intended)")
        if path.is_dir():
            images += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif path.is_file() and path.suffix == ".txt":
            for line in path.read_text().splitlines():
                name = line.strip()
                if not name:
                    continue
                listed = inside_root(path.parent if name.startswith("./") else base, name, allow_outside_root,
                                     str(path), bad)
                if listed is not None:
                    images.append(listed)
        else:
            raise UserError(f"{where}: {item!r} is neither a folder of images nor a .txt list ({path} not found)")
    return images


def read_labels(path: Path, num_classes: int, bad: BadBoxes) -> tuple[np.ndarray, np.ndarray]:
    """(normalised cx cy w h rows, class ids) of one label file; a bad line is reported as file:line."""
    rows, classes = [], []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{n}"
        if len(fields) != 5:
            bad.report(where, f"has {len(fields)} fields, expected 5 (class cx cy w h)")
            continue
        try:
            cls = int(fields[0])
            values = [float(v) for v in fields[1:]]
        except ValueError:
            bad.report(where, f"{line.strip()!r} is not a class id and 4 numbers")
            continue
        if not 0 <= cls < num_classes:
            bad.report(where, f"class {cls} is not in names (0..{num_classes - 1})")
            continue
        t = NORMALISED_TOLERANCE
        if not all(np.isfinite(v) and -t <= v <= 1 + t for v in values):
            bad.report(where, f"values {values} are not normalised to [0, 1]")
            continue
        rows.append(values)
        classes.append(cls)
    return np.array(rows, dtype=np.float32).reshape(-1, 4), np.array(classes, dtype=np.int64)


def read_split(images: list[Path], names: list[str], source: str, max_size: int | None, bad: BadBoxes
               ) -> DetectionDataset:
    """One split's :class:`DetectionDataset`: pixel xyxy boxes from each image's label file."""
    exists = _present(images, source, "the data.yaml split entries", bad)
    paths, targets, sizes = [], [], []
    for image in (p for p, e in zip(images, exists) if e):
        width, height = image_size(image)
        labels_file = label_path(image)
        if labels_file.is_file():
            cxcywh, classes = read_labels(labels_file, len(names), bad)
        else:
            cxcywh, classes = np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.int64)
        scale = np.array([width, height, width, height], dtype=np.float32)
        boxes = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], 1) * scale
        keep = bad.check(boxes, float(width), float(height), str(labels_file))
        paths.append(image)
        targets.append(target(boxes[keep], classes[keep]))
        sizes.append((int(width), int(height)))
    return DetectionDataset(paths, targets, max_size, sizes=sizes)


def yolo(root: str | None = None, data: str | None = None, val_fraction: float = 0.15, test_fraction: float = 0.15,
         max_size: int | None = 512, on_bad: str = "error", allow_outside_root: bool = False, seed: int = 0) -> Splits:
    """The YOLO txt layout: ``root`` is the folder holding ``data.yaml`` (or ``data`` its path).
    Splits the yaml does not name (or names as null) are carved from train, seeded."""
    if data:
        yaml_path = require_file(data, "dataset.data")
    else:
        folder = require_dir(root, hint=" (the folder holding data.yaml, or pass dataset.data=PATH/data.yaml)")
        yaml_path = folder / "data.yaml"
        if not yaml_path.is_file():
            found = sorted(folder.glob("*.yaml"))
            if len(found) != 1:
                raise UserError(f"dataset.root={root}: no data.yaml there (pass dataset.data=PATH/data.yaml)")
            yaml_path = found[0]
    doc = read_data_yaml(yaml_path)
    names = class_names(doc, yaml_path)
    base = Path(os.path.expanduser(str(doc.get("path") or ".")))
    base = base if base.is_absolute() else yaml_path.parent / base
    if not base.is_dir():
        raise UserError(f"{yaml_path}: path {doc.get('path')!r} is not a folder ({base})")
    bad = BadBoxes(on_bad_policy(on_bad, None))
    datasets: dict[str, DetectionDataset] = {}
    for split in ("train", "val", "test"):
        if doc.get(split):
            images = split_images(doc[split], base, f"{yaml_path}: {split}", allow_outside_root, bad)
            if not images and split == "train":
                raise UserError(f"{yaml_path}: train {doc[split]!r} holds no images")
            datasets[split] = read_split(images, names, f"{yaml_path}: {split}", max_size, bad)
    bad.warn()
    return splits(names, datasets["train"], datasets.get("val"), datasets.get("test"), val_fraction=val_fraction,
                  test_fraction=test_fraction, seed=seed, skipped=bad.skipped)
