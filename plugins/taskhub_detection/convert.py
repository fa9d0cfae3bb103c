"""``taskhub data convert from=coco to=yolo src=... dst=DIR`` (and ``from=yolo to=coco``).

COCO -> YOLO writes Ultralytics' layout (``images/<split>/``, ``labels/<split>/*.txt``,
``data.yaml``); YOLO -> COCO writes ``images/<split>/`` plus ``annotations/instances_<split>.json``
(load it with ``dataset=coco root=DST/images/train annotations=DST/annotations/instances_train.json``).
Boxes survive a round trip within rounding (6 decimals normalised, 3 decimals in pixels). YOLO has
no crowd flag: COCO ``iscrowd`` annotations are left out, and counted in the log.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from taskhub import UserError

log = logging.getLogger("taskhub")
FORMATS = ("coco", "yolo")
USAGE = ("taskhub data convert from=coco|yolo to=yolo|coco src=PATH dst=DIR [images=DIR]\n\n"
         "src: a COCO JSON or a folder of them (DIR/*.json, DIR/annotations/*.json; the split is read from\n"
         "the name: *val* -> val, *test* -> test, else train), or a YOLO folder holding data.yaml (or the\n"
         "data.yaml itself). images: where a COCO file's file_names live (default: found beside it).\n"
         "dst: a new or empty folder.")


def split_of(stem: str) -> str:
    """The split a COCO file is for, from its name (``instances_val2017`` -> val)."""
    low = stem.lower()
    return "val" if "val" in low else "test" if "test" in low else "train"


def _coco_files(src: Path) -> list[Path]:
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise UserError(f"src={src}: no such file or folder (a COCO JSON or a folder of them)")
    files = sorted(src.glob("*.json")) + sorted((src / "annotations").glob("*.json"))
    if not files:
        raise UserError(f"src={src}: no COCO .json files there or in its annotations/ folder")
    return files


def _image_dir(doc: dict, annotations: Path, split: str, images: str | None) -> Path:
    """The folder a COCO file's ``file_name``s are relative to: ``images=`` or the first of the
    usual places that holds its first image."""
    if images:
        return Path(images).expanduser()
    here = annotations.parent
    candidates = [here.parent / "images" / split, here / "images" / split, here / "images", here,
                  here.parent / annotations.stem.removeprefix("instances_"), here.parent / "images", here.parent]
    first = next((str(im.get("file_name")) for im in doc.get("images", []) if isinstance(im, dict)), None)
    for folder in candidates:
        if first is None or (folder / first).is_file():
            return folder
    raise UserError(f"{annotations}: cannot find its images (first: {first}) beside it; pass images=DIR")


def _relative(name: str, where: str) -> Path:
    path = Path(name)
    if path.is_absolute() or ".." in path.parts:
        raise UserError(f"{where}: file name {name!r} leaves the image folder; fix the file name")
    return path


def _prepare(dst: str | None) -> Path:
    if not dst:
        raise UserError("dst is not set: pass dst=DIR (a new or empty folder)")
    out = Path(dst).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"dst={dst}: exists and is not empty; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def coco_to_yolo(src: str, dst: str, images: str | None = None) -> Path:
    """Every COCO file under ``src`` as one YOLO split in ``dst``; returns the data.yaml path."""
    from taskhub_detection.yolo import label_path

    files = _coco_files(Path(src).expanduser())
    out = _prepare(dst)
    names: list[str] | None = None
    splits: dict[str, str] = {}
    crowds = 0
    for annotations in files:
        try:
            doc = json.loads(annotations.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{annotations}: not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or not {"images", "annotations", "categories"} <= set(doc):
            raise UserError(f"{annotations}: not a COCO detection file (needs images, annotations and categories)")
        cats = sorted(doc["categories"], key=lambda c: c["id"])
        these = [str(c["name"]) for c in cats]
        names = names or these
        if any(n not in names for n in these):
            raise UserError(f"{annotations}: categories {these[:10]} differ from the first file's {names[:10]}")
        label_of = {c["id"]: names.index(str(c["name"])) for c in cats}
        split = split_of(annotations.stem)
        if split in splits:
            raise UserError(f"{annotations}: a second file for split {split!r}; convert one file at a time")
        splits[split] = f"images/{split}"
        folder = _image_dir(doc, annotations, split, images)
        by_image: dict[Any, list[dict]] = {}
        for ann in doc["annotations"]:
            by_image.setdefault(ann.get("image_id"), []).append(ann)
        for im in doc["images"]:
            name = _relative(str(im["file_name"]), str(annotations))
            source = folder / name
            if not source.is_file():
                raise UserError(f"{annotations}: image {source} not found; pass images=DIR")
            image = out / "images" / split / name
            image.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, image)
            width, height = float(im["width"]), float(im["height"])
            lines = []
            for ann in by_image.get(im["id"], []):
                if ann.get("iscrowd"):
                    crowds += 1
                    continue
                if ann.get("category_id") not in label_of:
                    raise UserError(f"{annotations}: annotation {ann.get('id')} has category_id "
                                    f"{ann.get('category_id')} not in categories")
                x, y, w, h = (float(v) for v in ann["bbox"])
                lines.append(f"{label_of[ann['category_id']]} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} "
                             f"{w / width:.6f} {h / height:.6f}\n")
            labels = label_path(image)
            labels.parent.mkdir(parents=True, exist_ok=True)
            labels.write_text("".join(lines))
    import yaml

    data_yaml = out / "data.yaml"
    data_yaml.write_text(yaml.safe_dump({"path": ".", **splits, "names": dict(enumerate(names or []))},
                                        sort_keys=False))
    if crowds:
        log.warning("left out %d iscrowd annotation(s): YOLO labels have no crowd flag", crowds)
    return data_yaml


def yolo_to_coco(src: str, dst: str) -> list[Path]:
    """Every split of a YOLO dataset as ``dst/annotations/instances_<split>.json`` plus its images."""
    from taskhub_detection.data import BadBoxes, image_size
    from taskhub_detection.yolo import class_names, label_path, read_data_yaml, read_labels, split_images

    path = Path(src).expanduser()
    yaml_path = path / "data.yaml" if path.is_dir() else path
    if not yaml_path.is_file():
        raise UserError(f"src={src}: no data.yaml there (a YOLO folder holding data.yaml, or the data.yaml)")
    doc = read_data_yaml(yaml_path)
    names = class_names(doc, yaml_path)
    base = Path(str(doc.get("path") or "."))
    base = base if base.is_absolute() else yaml_path.parent / base
    out = _prepare(dst)
    bad = BadBoxes("error")
    written = []
    for split in ("train", "val", "test"):
        if not doc.get(split):
            continue
        images, annotations = [], []
        for image_id, image in enumerate(split_images(doc[split], base, f"{yaml_path}: {split}", False, bad), 1):
            if not image.is_file():
                raise UserError(f"{yaml_path}: {split}: image {image} not found")
            width, height = image_size(image)
            name = Path(image.name)
            target = out / "images" / split / name
            if target.exists():
                raise UserError(f"{image}: a second image named {name} in split {split}; rename one")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(image, target)
            images.append({"id": image_id, "file_name": str(name), "width": width, "height": height})
            labels = label_path(image)
            if labels.is_file():
                cxcywh, classes = read_labels(labels, len(names), bad)
                scale = np.array([width, height, width, height], dtype=np.float64)
                for (cx, cy, w, h), cls in zip(cxcywh.astype(np.float64) * scale, classes):
                    annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": int(cls) + 1,
                                        "bbox": [round(cx - w / 2, 3), round(cy - h / 2, 3), round(w, 3), round(h, 3)],
                                        "area": round(w * h, 3), "iscrowd": 0})
        file = out / "annotations" / f"instances_{split}.json"
        file.parent.mkdir(parents=True, exist_ok=True)
        categories = [{"id": i + 1, "name": n} for i, n in enumerate(names)]
        file.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
        written.append(file)
    return written


def parse_pairs(args: list[str]) -> dict[str, str]:
    pairs = {}
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq or key not in ("from", "to", "src", "dst", "images"):
            raise UserError(f"taskhub data convert: unknown argument {arg!r}; usage: {USAGE.splitlines()[0]}")
        pairs[key] = value
    return pairs


def handle(args: argparse.Namespace) -> int:
    if getattr(args, "convert_help", False) or any(a in ("--help", "-h") for a in args.pairs):
        print(USAGE)
        return 0
    pairs = parse_pairs(list(args.pairs))
    source, dest = pairs.get("from"), pairs.get("to")
    if (source, dest) not in (("coco", "yolo"), ("yolo", "coco")):
        raise UserError(f"taskhub data convert: from={source} to={dest} is not supported; "
                        f"use from=coco to=yolo or from=yolo to=coco")
    if not pairs.get("src"):
        raise UserError("src is not set: pass src=PATH (the dataset to convert)")
    if source == "coco":
        written = [coco_to_yolo(pairs["src"], pairs.get("dst", ""), pairs.get("images"))]
    else:
        if pairs.get("images"):
            raise UserError("images= is only read for from=coco (YOLO lists its own images)")
        written = yolo_to_coco(pairs["src"], pairs.get("dst", ""))
    for path in written:
        print(path)
    return 0


def attach(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``convert`` under the ``taskhub data`` verb (created here when no other plugin made it)."""
    data = subparsers.choices.get("data")
    if data is None:
        data = subparsers.add_parser("data", help="commands about datasets", description="Commands about datasets.")
        data.set_defaults(handler=lambda args: data.print_help() or 1)
    verbs = next((a for a in data._actions if isinstance(a, argparse._SubParsersAction)), None)
    if verbs is None:
        verbs = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    parser = verbs.add_parser("convert", help="convert detection data: taskhub data convert from=coco to=yolo "
                                              "src=PATH dst=DIR", description=USAGE,
                              formatter_class=argparse.RawDescriptionHelpFormatter, add_help=False)
    parser.add_argument("-h", "--help", action="store_true", dest="convert_help", help="show this help and exit")
    parser.add_argument("pairs", nargs=argparse.REMAINDER, help="from=, to=, src=, dst=, images=")
    parser.set_defaults(handler=handle)
