"""Detection data in its standard layouts: COCO JSON, Pascal VOC and Penn-Fudan (instance masks).

Each reader returns :class:`taskhub.data.Splits` with xyxy pixel boxes and contiguous labels
(``info["labels"]``). Images are decoded lazily (and cached) and shrunk to ``max_size`` on the
longer side, boxes with them. Bad annotations follow ``dataset.on_bad`` (see
:class:`~taskhub_detection.data.BadBoxes`): one line naming the file, or a counted warning;
images without objects are kept as negatives. File names in annotations stay inside the data
root unless ``allow_outside_root: true``.
"""
from __future__ import annotations

import json
import numbers
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from taskhub import UserError
from taskhub.data import Splits, require_dir, require_file
from taskhub_detection.data import BadBoxes, DetectionDataset, image_size, on_bad_policy, splits, target


def inside_root(root: Path, name: str, allow_outside_root: bool, where: str, bad: BadBoxes) -> Path | None:
    """``root / name``, or None (reported) when ``name`` is absolute or climbs out of ``root``
    with ``..``: an annotation file must not make the loader read files elsewhere unless asked."""
    path = root / name
    if allow_outside_root:
        return path
    if Path(name).is_absolute() or not path.resolve().is_relative_to(root.resolve()):
        bad.report(f"{where}: file name {name!r}", f"leaves the data root {root} (set dataset.allow_outside_root=true "
                                                   f"if that is intended)")
        return None
    return path


def _present(paths: list[Path], source: str, setting: str, bad: BadBoxes) -> list[bool]:
    """Which images exist; missing ones are one line (``error``) or skipped and counted."""
    exists = [p.is_file() for p in paths]
    missing = [p for p, e in zip(paths, exists) if not e]
    if missing and bad.policy == "error":
        raise UserError(f"{source}: {len(missing)} image file(s) not found (first: {missing[0]}); "
                        f"check {setting}, remove their annotations, or pass dataset.on_bad=skip")
    for p in missing:
        bad.report(str(p), "image file not found")
    return exists


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


# --- COCO -----------------------------------------------------------------------------------------
def _read_coco(annotations: Path, images: Path, bad: BadBoxes, classes: list[str] | None,
               allow_outside_root: bool) -> tuple[list[Path], list[dict], list[str], list[tuple[int, int]]]:
    try:
        doc = json.loads(annotations.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{annotations}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not {"images", "annotations", "categories"} <= set(doc):
        raise UserError(f"{annotations}: not a COCO detection file (needs images, annotations and categories)")
    for i, c in enumerate(doc["categories"]):
        if not isinstance(c, dict) or "id" not in c or not str(c.get("name", "")).strip():
            raise UserError(f"{annotations}: categories[{i}] needs an id and a non-empty name")
    cats = sorted(doc["categories"], key=lambda c: c["id"])
    names = [str(c["name"]) for c in cats]
    if classes is not None:  # another split's file: its names map onto the first file's labels
        unknown = [n for n in names if n not in classes]
        if unknown:
            raise UserError(f"{annotations}: categories {unknown[:10]} are not in the training file's {classes[:20]}")
        names = list(classes)
    label_of = {c["id"]: names.index(str(c["name"])) for c in cats}
    entries: dict[int, dict] = {}
    for i, im in enumerate(doc["images"]):
        where = f"{annotations}: images[{i}]" + (f" ({im.get('file_name')})" if isinstance(im, dict) else "")
        if not isinstance(im, dict) or "id" not in im or not str(im.get("file_name", "")).strip():
            bad.report(where, "needs an id and a file_name")
            continue
        missing = [k for k in ("width", "height") if not (_number(im.get(k)) and im[k] > 0)]
        if missing:
            bad.report(where, f"has no valid {' or '.join(missing)} (add the image's width and height in pixels)")
            continue
        entries[int(im["id"])] = im
    by_image: dict[int, list[dict]] = {i: [] for i in entries}
    listed = {int(im["id"]) for im in doc["images"] if isinstance(im, dict) and "id" in im}
    unknown_cat, unknown_img = [], []
    for i, ann in enumerate(doc["annotations"]):
        if ann.get("category_id") not in label_of:
            unknown_cat.append(ann.get("category_id"))
        elif int(ann.get("image_id", -1)) not in by_image:
            if int(ann.get("image_id", -1)) not in listed:
                unknown_img.append(ann.get("image_id"))  # (annotations of skipped images go with them)
        elif not (isinstance(ann.get("bbox"), list) and len(ann["bbox"]) == 4 and all(_number(v) for v in ann["bbox"])):
            bad.report(f"{annotations}: annotations[{i}] (id {ann.get('id')}, image_id {ann.get('image_id')})",
                       f"bbox {ann.get('bbox')!r} is not 4 numbers [x, y, width, height]")
        else:
            by_image[int(ann["image_id"])].append(ann)
    if unknown_cat:
        raise UserError(f"{annotations}: {len(unknown_cat)} annotation(s) with a category_id not in categories "
                        f"(first: {unknown_cat[0]}); add the category or fix the annotations")
    if unknown_img:
        raise UserError(f"{annotations}: {len(unknown_img)} annotation(s) for an image_id not in images "
                        f"(first: {unknown_img[0]})")
    paths, targets, sizes = [], [], []
    for image_id, im in entries.items():
        path = inside_root(images, str(im["file_name"]), allow_outside_root, str(annotations), bad)
        if path is None:
            continue
        anns = by_image[image_id]
        xywh = np.array([a["bbox"] for a in anns], dtype=np.float32).reshape(-1, 4)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
        keep = bad.check(boxes, float(im["width"]), float(im["height"]), f"{annotations}: {im['file_name']}")
        labels = np.array([label_of[a["category_id"]] for a in anns], dtype=np.int64)
        crowd = np.array([int(a.get("iscrowd", 0)) for a in anns], dtype=np.int64)
        paths.append(path)
        targets.append(target(boxes[keep], labels[keep], crowd[keep]))
        sizes.append((int(im["width"]), int(im["height"])))
    exists = _present(paths, str(annotations), "dataset.root (the image folder)", bad)
    keep = [i for i, e in enumerate(exists) if e]
    return [paths[i] for i in keep], [targets[i] for i in keep], names, [sizes[i] for i in keep]


def coco(root: str | None = None, annotations: str | None = None, val_annotations: str | None = None,
         val_root: str | None = None, test_annotations: str | None = None, test_root: str | None = None,
         val_fraction: float = 0.15, test_fraction: float = 0.15, max_size: int | None = 512,
         on_bad: str = "error", allow_outside_root: bool = False, seed: int = 0,
         bad_boxes: str | None = None) -> Splits:
    """A COCO annotation file plus an image folder. Category ids map to contiguous labels in id
    order; ``iscrowd`` regions are ignored by evaluation and skipped by training. Val and test
    files are optional: missing splits are carved from the first file by a seeded split.
    ``bad_boxes`` is the deprecated name of ``on_bad`` (drop = skip)."""
    bad = BadBoxes(on_bad_policy(on_bad, bad_boxes))
    images = require_dir(root, hint=" (the folder holding the images that file_name refers to)")
    if not annotations:
        raise UserError("dataset.annotations is not set: pass dataset.annotations=/path/to/instances.json")
    paths, targets, names, sizes = _read_coco(require_file(annotations, "dataset.annotations"), images, bad, None,
                                              allow_outside_root)
    full = DetectionDataset(paths, targets, max_size, sizes=sizes)
    given: dict[str, DetectionDataset] = {}
    for split, ann, folder in (("val", val_annotations, val_root), ("test", test_annotations, test_root)):
        if ann:
            folder_path = require_dir(folder, f"dataset.{split}_root") if folder else images
            p, t, _, s = _read_coco(require_file(ann, f"dataset.{split}_annotations"), folder_path, bad, names,
                                    allow_outside_root)
            given[split] = DetectionDataset(p, t, max_size, sizes=s)
    bad.warn()
    return splits(names, full, given.get("val"), given.get("test"), val_fraction=val_fraction,
                  test_fraction=test_fraction, seed=seed, skipped=bad.skipped)


# --- Pascal VOC -----------------------------------------------------------------------------------
def _read_voc_xml(path: Path, image_dir: Path, image_id: str, bad: BadBoxes, allow_outside_root: bool
                  ) -> tuple[Path, tuple[int, int], list[str], np.ndarray, list[int]] | None:
    """(image path, (width, height), class names, boxes, difficult flags) of one annotation, or
    None when the whole file is left out under ``on_bad: skip``."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        bad.report(str(path), f"not valid XML ({exc})")
        return None
    fname = (root.findtext("filename") or "").strip() or f"{image_id}.jpg"
    image = inside_root(image_dir, fname, allow_outside_root, str(path), bad)
    if image is None:
        return None
    size = root.find("size")
    try:
        width = float(size.findtext("width", "0") or 0) if size is not None else 0.0
        height = float(size.findtext("height", "0") or 0) if size is not None else 0.0
    except ValueError:
        width = height = 0.0
    if not (width > 0 and height > 0) and image.is_file():
        width, height = (float(v) for v in image_size(image))  # no <size>: the image's own, so boxes are checked
    names, boxes, difficult = [], [], []
    for n, obj in enumerate(root.iter("object")):
        where = f"{path}: <object> {n + 1}"
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        try:
            box = [float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")] if bb is not None else None
        except (TypeError, ValueError):
            box = None
        if not name:
            bad.report(where, "has an empty <name> (give every object its class name)")
            continue
        if box is None:
            bad.report(where, "has no <bndbox> with numeric xmin, ymin, xmax, ymax")
            continue
        names.append(name)
        boxes.append(box)
        difficult.append(int(float(obj.findtext("difficult", "0") or 0)))
    array = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    array[:, :2] -= 1  # VOC corners are 1-based and inclusive: xmin=1 is the first pixel's left edge
    if width > 0 and height > 0:
        keep = bad.check(array, width, height, str(path))
    else:  # no size and no image: the image check (_present) reports the file
        keep = np.ones(len(array), dtype=bool)
    return (image, (int(width), int(height)), [n for n, k in zip(names, keep) if k], array[keep],
            [d for d, k in zip(difficult, keep) if k])


def voc(root: str | None = None, classes: list[str] | None = None, train_split: str = "train",
        val_split: str = "val", test_split: str = "test", val_fraction: float = 0.15, test_fraction: float = 0.15,
        max_size: int | None = 512, on_bad: str = "error", allow_outside_root: bool = False, seed: int = 0,
        bad_boxes: str | None = None) -> Splits:
    """The Pascal VOC layout: ``Annotations/*.xml``, ``JPEGImages/``, and ``ImageSets/Main/<split>.txt``
    where present (else a seeded split of every annotation). ``difficult`` objects are ignored by
    evaluation, as VOC defines. ``classes``: null takes the sorted names found in the annotations.
    An XML without ``<size>`` is checked against the image's real size."""
    bad = BadBoxes(on_bad_policy(on_bad, bad_boxes))
    base = require_dir(root, hint=" (the VOC folder holding Annotations/ and JPEGImages/)")
    ann_dir = base / "Annotations"
    if not ann_dir.is_dir():
        raise UserError(f"dataset.root={root}: no Annotations/ folder (expected the Pascal VOC layout)")
    sets = base / "ImageSets" / "Main"
    listed = {s: sets / f"{name}.txt" for s, name in (("train", train_split), ("val", val_split), ("test", test_split))}
    if not listed["train"].is_file() and (sets / "trainval.txt").is_file():
        listed["train"] = sets / "trainval.txt"
    ids = {s: [line.split()[0] for line in p.read_text().splitlines() if line.strip()]
           for s, p in listed.items() if p.is_file()}
    if "train" not in ids:
        ids = {"all": sorted(p.stem for p in ann_dir.glob("*.xml"))}
        if not ids["all"]:
            raise UserError(f"{ann_dir}: no .xml annotation files")
    parsed: dict[str, list] = {}
    for split, names in ids.items():
        missing = [i for i in names if not (ann_dir / f"{i}.xml").is_file()]
        if missing:
            raise UserError(f"{listed.get(split, ann_dir)}: {len(missing)} listed id(s) have no annotation file "
                            f"(first: {ann_dir / (missing[0] + '.xml')})")
        rows = [_read_voc_xml(ann_dir / f"{i}.xml", base / "JPEGImages", i, bad, allow_outside_root) for i in names]
        parsed[split] = [r for r in rows if r is not None]
    found = sorted({n for rows in parsed.values() for row in rows for n in row[2]})
    labels = list(classes) if classes else found
    unknown = [n for n in found if n not in labels]
    if unknown:
        count = sum(n in unknown for rows in parsed.values() for row in rows for n in row[2])
        raise UserError(f"{ann_dir}: {count} object(s) of classes {unknown[:10]} not in dataset.classes; "
                        f"add them or leave dataset.classes=null")
    datasets: dict[str, DetectionDataset] = {}
    for split, rows in parsed.items():
        exists = _present([r[0] for r in rows], str(ann_dir), "the JPEGImages/ folder", bad)
        rows = [r for r, e in zip(rows, exists) if e]
        targets = [target(boxes, [labels.index(n) for n in names], difficult) for _, _, names, boxes, difficult in rows]
        datasets[split] = DetectionDataset([r[0] for r in rows], targets, max_size, sizes=[r[1] for r in rows])
    bad.warn()
    train = datasets.get("all", datasets.get("train"))
    return splits(labels, train, datasets.get("val"), datasets.get("test"), val_fraction=val_fraction,
                  test_fraction=test_fraction, seed=seed, skipped=bad.skipped)


# --- Penn-Fudan -----------------------------------------------------------------------------------
def masks_to_boxes(mask: np.ndarray) -> np.ndarray:
    """xyxy boxes (pixel edges) of every instance id > 0 in an instance mask, in id order."""
    import torch
    from torchvision.ops import masks_to_boxes as tv_masks_to_boxes

    ids = np.unique(mask)
    ids = ids[ids > 0]
    if not len(ids):
        return np.zeros((0, 4), dtype=np.float32)
    per_instance = torch.from_numpy(np.asarray(mask)[None] == ids[:, None, None])
    boxes = tv_masks_to_boxes(per_instance)  # inclusive corners of each instance's pixels
    boxes[:, 2:] += 1  # pixel edges: the box covers the last pixel
    return boxes.numpy().astype(np.float32)


def pennfudan(root: str | None = None, val_fraction: float = 0.2, test_fraction: float = 0.2,
              max_size: int | None = 320, on_bad: str = "error", seed: int = 0) -> Splits:
    """The Penn-Fudan layout: ``PNGImages/X.png`` with instance masks ``PedMasks/X_mask.png``
    (0 background, 1..K one pedestrian each); one class, ``person``; boxes come from the masks.
    ``root`` is that folder or one holding ``PennFudanPed/`` (as the archive unpacks). It ships no
    split, so train/val/test are seeded."""
    from PIL import Image

    base = require_dir(root, hint=" (the PennFudanPed folder holding PNGImages/ and PedMasks/)")
    if not (base / "PNGImages").is_dir() and (base / "PennFudanPed" / "PNGImages").is_dir():
        base = base / "PennFudanPed"
    for sub in ("PNGImages", "PedMasks"):
        if not (base / sub).is_dir():
            raise UserError(f"dataset.root={root}: no {sub}/ folder (expected the Penn-Fudan layout)")
    bad = BadBoxes(on_bad_policy(on_bad, None))
    images = sorted((base / "PNGImages").glob("*.png"))
    if not images:
        raise UserError(f"{base / 'PNGImages'}: no .png images")
    masks = [base / "PedMasks" / f"{p.stem}_mask.png" for p in images]
    missing = [m for m in masks if not m.is_file()]
    if missing and bad.policy == "error":
        raise UserError(f"{base / 'PedMasks'}: {len(missing)} image(s) have no mask (first: {missing[0]}); "
                        f"add the masks, or pass dataset.on_bad=skip")
    kept, targets, sizes = [], [], []
    for image, m in zip(images, masks):
        if not m.is_file():
            bad.report(str(m), "mask file not found")
            continue
        with Image.open(m) as img:
            mask = np.asarray(img)
        boxes = masks_to_boxes(mask)
        kept.append(image)
        targets.append(target(boxes, np.zeros(len(boxes), dtype=np.int64)))
        sizes.append((int(mask.shape[1]), int(mask.shape[0])))
    bad.warn("images")
    return splits(["person"], DetectionDataset(kept, targets, max_size, sizes=sizes), val_fraction=val_fraction,
                  test_fraction=test_fraction, seed=seed, skipped=bad.skipped)
