"""Detection data in its standard layouts: COCO JSON, Pascal VOC and Penn-Fudan (instance masks).

Each reader returns :class:`DetectionData` with xyxy pixel boxes and contiguous labels. Images
are decoded lazily (and cached) and shrunk to ``max_size`` on the longer side, boxes with them.
Bad annotations are reported with the file and a count (see :class:`BadBoxes`), never dropped
silently; images without objects are kept as negatives.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from taskhub import UserError
from taskhub.data import require_dir, require_file
from taskhub_detection.data import BadBoxes, DetectionData, DetectionDataset, carve, target


def _missing_images(paths: list[Path], source: str, setting: str) -> None:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise UserError(f"{source}: {len(missing)} image file(s) not found (first: {missing[0]}); "
                        f"check {setting} or remove their annotations")


# --- COCO -----------------------------------------------------------------------------------------
def _read_coco(annotations: Path, images: Path, bad_boxes: str, classes: list[str] | None
               ) -> tuple[list[Path], list[dict], list[str]]:
    try:
        doc = json.loads(annotations.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{annotations}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not {"images", "annotations", "categories"} <= set(doc):
        raise UserError(f"{annotations}: not a COCO detection file (needs images, annotations and categories)")
    cats = sorted(doc["categories"], key=lambda c: c["id"])
    names = [str(c["name"]) for c in cats]
    if classes is not None:  # another split's file: its names map onto the first file's labels
        unknown = [n for n in names if n not in classes]
        if unknown:
            raise UserError(f"{annotations}: categories {unknown[:10]} are not in the training file's {classes[:20]}")
        names = list(classes)
    label_of = {c["id"]: names.index(str(c["name"])) for c in cats}
    by_image: dict[int, list[dict]] = {int(im["id"]): [] for im in doc["images"]}
    unknown_cat, unknown_img = [], []
    for ann in doc["annotations"]:
        if ann.get("category_id") not in label_of:
            unknown_cat.append(ann.get("category_id"))
        elif int(ann.get("image_id", -1)) not in by_image:
            unknown_img.append(ann.get("image_id"))
        else:
            by_image[int(ann["image_id"])].append(ann)
    if unknown_cat:
        raise UserError(f"{annotations}: {len(unknown_cat)} annotation(s) with a category_id not in categories "
                        f"(first: {unknown_cat[0]}); add the category or fix the annotations")
    if unknown_img:
        raise UserError(f"{annotations}: {len(unknown_img)} annotation(s) for an image_id not in images "
                        f"(first: {unknown_img[0]})")
    bad = BadBoxes(str(annotations), bad_boxes)
    paths, targets = [], []
    for im in doc["images"]:
        anns = by_image[int(im["id"])]
        xywh = np.array([a["bbox"] for a in anns], dtype=np.float32).reshape(-1, 4)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
        keep = bad.check(boxes, float(im["width"]), float(im["height"]), str(im["file_name"]))
        labels = np.array([label_of[a["category_id"]] for a in anns], dtype=np.int64)
        crowd = np.array([int(a.get("iscrowd", 0)) for a in anns], dtype=np.int64)
        paths.append(images / im["file_name"])
        targets.append(target(boxes[keep], labels[keep], crowd[keep]))
    bad.finish()
    _missing_images(paths, str(annotations), "dataset.root (the image folder)")
    return paths, targets, names


def coco(root: str | None = None, annotations: str | None = None, val_annotations: str | None = None,
         val_root: str | None = None, test_annotations: str | None = None, test_root: str | None = None,
         val_fraction: float = 0.15, test_fraction: float = 0.15, max_size: int | None = 512,
         bad_boxes: str = "error", seed: int = 0) -> DetectionData:
    """A COCO annotation file plus an image folder. Category ids map to contiguous labels in id
    order; ``iscrowd`` regions are ignored by evaluation and skipped by training. Val and test
    files are optional: missing splits are carved from the first file by a seeded split."""
    images = require_dir(root, hint=" (the folder holding the images that file_name refers to)")
    if not annotations:
        raise UserError("dataset.annotations is not set: pass dataset.annotations=/path/to/instances.json")
    paths, targets, names = _read_coco(require_file(annotations, "dataset.annotations"), images, bad_boxes, None)
    full = DetectionDataset(paths, targets, max_size)
    splits: dict[str, DetectionDataset | None] = {}
    for split, ann, folder in (("val", val_annotations, val_root), ("test", test_annotations, test_root)):
        if ann:
            folder_path = require_dir(folder, f"dataset.{split}_root") if folder else images
            p, t, _ = _read_coco(require_file(ann, f"dataset.{split}_annotations"), folder_path, bad_boxes, names)
            splits[split] = DetectionDataset(p, t, max_size)
    if len(splits) == 2:
        return DetectionData(full, splits["val"], splits["test"], names)
    train, val, test = carve(full, 0.0 if "val" in splits else val_fraction,
                             0.0 if "test" in splits else test_fraction, seed)
    return DetectionData(train, splits.get("val", val), splits.get("test", test), names)


# --- Pascal VOC -----------------------------------------------------------------------------------
def _read_voc_xml(path: Path, bad: BadBoxes) -> tuple[str | None, list[str], np.ndarray, list[int]]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise UserError(f"{path}: not valid XML ({exc})") from None
    size = root.find("size")
    width = float(size.findtext("width", "0")) if size is not None else 0.0
    height = float(size.findtext("height", "0")) if size is not None else 0.0
    names, boxes, difficult = [], [], []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is None:
            raise UserError(f"{path}: an <object> without <bndbox>")
        try:
            boxes.append([float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
        except (TypeError, ValueError):
            raise UserError(f"{path}: a <bndbox> without numeric xmin, ymin, xmax, ymax") from None
        names.append((obj.findtext("name") or "").strip())
        difficult.append(int(float(obj.findtext("difficult", "0") or 0)))
    array = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    array[:, :2] -= 1  # VOC corners are 1-based and inclusive: xmin=1 is the first pixel's left edge
    keep = bad.check(array, width, height, path.name) if width and height else np.ones(len(array), bool)
    return root.findtext("filename"), [n for n, k in zip(names, keep) if k], array[keep], \
        [d for d, k in zip(difficult, keep) if k]


def voc(root: str | None = None, classes: list[str] | None = None, train_split: str = "train",
        val_split: str = "val", test_split: str = "test", val_fraction: float = 0.15, test_fraction: float = 0.15,
        max_size: int | None = 512, bad_boxes: str = "error", seed: int = 0) -> DetectionData:
    """The Pascal VOC layout: ``Annotations/*.xml``, ``JPEGImages/``, and ``ImageSets/Main/<split>.txt``
    where present (else a seeded split of every annotation). ``difficult`` objects are ignored by
    evaluation, as VOC defines. ``classes``: null takes the sorted names found in the annotations."""
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
    bad = BadBoxes(str(ann_dir), bad_boxes)
    parsed = {}
    for split, names in ids.items():
        missing = [i for i in names if not (ann_dir / f"{i}.xml").is_file()]
        if missing:
            raise UserError(f"{listed.get(split, ann_dir)}: {len(missing)} listed id(s) have no annotation file "
                            f"(first: {ann_dir / (missing[0] + '.xml')})")
        parsed[split] = [(i, *_read_voc_xml(ann_dir / f"{i}.xml", bad)) for i in names]
    bad.finish()
    found = sorted({n for rows in parsed.values() for row in rows for n in row[2]})
    labels = list(classes) if classes else found
    unknown = [n for n in found if n not in labels]
    if unknown:
        count = sum(n in unknown for rows in parsed.values() for row in rows for n in row[2])
        raise UserError(f"{ann_dir}: {count} object(s) of classes {unknown[:10]} not in dataset.classes; "
                        f"add them or leave dataset.classes=null")
    datasets = {}
    for split, rows in parsed.items():
        paths = [base / "JPEGImages" / (fname or f"{i}.jpg") for i, fname, *_ in rows]
        _missing_images(paths, str(ann_dir), "the JPEGImages/ folder")
        targets = [target(boxes, [labels.index(n) for n in names], difficult) for _, _, names, boxes, difficult in rows]
        datasets[split] = DetectionDataset(paths, targets, max_size)
    if "all" in datasets:
        train, val, test = carve(datasets["all"], val_fraction, test_fraction, seed)
        return DetectionData(train, val, test, labels)
    train = datasets["train"]
    val, test = datasets.get("val"), datasets.get("test")
    if val is None or test is None:
        train, v, t = carve(train, 0.0 if val else val_fraction, 0.0 if test else test_fraction, seed)
        val, test = val or v, test or t
    return DetectionData(train, val, test, labels)


# --- Penn-Fudan -----------------------------------------------------------------------------------
def masks_to_boxes(mask: np.ndarray) -> np.ndarray:
    """xyxy boxes (pixel edges) of every instance id > 0 in an instance mask, in id order."""
    ids = np.unique(mask)
    boxes = []
    for i in ids[ids > 0]:
        ys, xs = np.nonzero(mask == i)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return np.array(boxes, dtype=np.float32).reshape(-1, 4)


def pennfudan(root: str | None = None, val_fraction: float = 0.2, test_fraction: float = 0.2,
              max_size: int | None = 320, seed: int = 0) -> DetectionData:
    """The Penn-Fudan layout: ``PNGImages/X.png`` with instance masks ``PedMasks/X_mask.png``
    (0 background, 1..K one pedestrian each); one class, ``person``; boxes come from the masks.
    It ships no split, so train/val/test are seeded."""
    from PIL import Image

    base = require_dir(root, hint=" (the PennFudanPed folder holding PNGImages/ and PedMasks/)")
    for sub in ("PNGImages", "PedMasks"):
        if not (base / sub).is_dir():
            raise UserError(f"dataset.root={root}: no {sub}/ folder (expected the Penn-Fudan layout)")
    images = sorted((base / "PNGImages").glob("*.png"))
    if not images:
        raise UserError(f"{base / 'PNGImages'}: no .png images")
    masks = [base / "PedMasks" / f"{p.stem}_mask.png" for p in images]
    missing = [m for m in masks if not m.is_file()]
    if missing:
        raise UserError(f"{base / 'PedMasks'}: {len(missing)} image(s) have no mask (first: {missing[0]})")
    targets = []
    for m in masks:
        with Image.open(m) as img:
            boxes = masks_to_boxes(np.asarray(img))
        targets.append(target(boxes, np.zeros(len(boxes), dtype=np.int64)))
    train, val, test = carve(DetectionDataset(images, targets, max_size), val_fraction, test_fraction, seed)
    return DetectionData(train, val, test, ["person"])
