"""Fixtures that write small detection datasets in each format (no download, no shared data)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def write_image(path: Path, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def write_coco(root: Path, images: list[dict], annotations: list[dict], categories: list[dict] | None = None,
               name: str = "instances.json", write_files: bool = True) -> Path:
    """A COCO file; each image dict needs id, file_name, width, height."""
    for im in images:
        if write_files:
            write_image(root / "images" / im["file_name"], im["width"], im["height"], im["id"])
    cats = categories if categories is not None else [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}]
    path = root / name
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": cats}))
    return path


@pytest.fixture
def coco_dir(tmp_path: Path) -> Path:
    images = [{"id": i, "file_name": f"{i}.png", "width": 64, "height": 48} for i in range(1, 11)]
    anns = [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [4, 5, 10, 20], "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [30, 10, 20, 30], "iscrowd": 0},
            {"id": 3, "image_id": 2, "category_id": 7, "bbox": [0, 0, 64, 48], "iscrowd": 1}]
    anns += [{"id": 10 + i, "image_id": i, "category_id": 3, "bbox": [1, 1, 8, 8], "iscrowd": 0} for i in range(3, 10)]
    write_coco(tmp_path, images, anns)  # image 10 has no objects: a valid negative
    return tmp_path


VOC_XML = """<annotation><filename>{name}.jpg</filename><size><width>64</width><height>48</height><depth>3</depth></size>
{objects}</annotation>"""
VOC_OBJ = """<object><name>{cls}</name><difficult>{difficult}</difficult>
<bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"""


def write_voc(root: Path, objects: dict[str, list[tuple[str, tuple, int]]], splits: dict[str, list[str]] | None = None) -> Path:
    """A VOC folder: ``objects`` maps image id -> [(class, (xmin, ymin, xmax, ymax), difficult)]."""
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    for n, (name, objs) in enumerate(objects.items()):
        write_image(root / "JPEGImages" / f"{name}.jpg", 64, 48, n)
        body = "".join(VOC_OBJ.format(cls=c, b=b, difficult=d) for c, b, d in objs)
        (root / "Annotations" / f"{name}.xml").write_text(VOC_XML.format(name=name, objects=body))
    if splits:
        (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
        for split, ids in splits.items():
            (root / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return root


def write_pennfudan(root: Path, count: int = 6) -> Path:
    """Penn-Fudan layout: an image and an instance mask with two pedestrians each."""
    (root / "PedMasks").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        write_image(root / "PNGImages" / f"Ped{i:03d}.png", 80, 60, i)
        mask = np.zeros((60, 80), dtype=np.uint8)
        mask[10:50, 5 + i:20 + i] = 1
        mask[20:58, 40:52] = 2
        Image.fromarray(mask).save(root / "PedMasks" / f"Ped{i:03d}_mask.png")
    return root
