"""The built-in default data: generated, so no download, with exact boxes by construction."""
from __future__ import annotations

import numpy as np
import torch

from taskhub.data import Splits
from taskhub_detection.data import DetectionDataset, splits, target

SHAPES = ("circle", "square", "triangle", "cross")


def _draw(draw, kind: str, box: tuple[int, int, int, int], color: tuple[int, ...]) -> None:
    x0, y0, x1, y1 = box  # inclusive pixel corners, so the exact box is [x0, y0, x1 + 1, y1 + 1]
    if kind == "circle":
        draw.ellipse(box, fill=color)
    elif kind == "square":
        draw.rectangle(box, fill=color)
    elif kind == "triangle":
        draw.polygon([((x0 + x1) // 2, y0), (x0, y1), (x1, y1)], fill=color)
    else:
        tx, ty = max(2, (x1 - x0) // 6), max(2, (y1 - y0) // 6)
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        draw.rectangle([x0, cy - ty, x1, cy + ty], fill=color)
        draw.rectangle([cx - tx, y0, cx + tx, y1], fill=color)


def _place(rng: np.random.Generator, size: int, min_object: int, max_object: int,
           taken: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int] | None:
    """A box that does not touch earlier ones (occluded shapes would make boxes inexact)."""
    for _ in range(20):
        w = int(rng.integers(min_object, max_object + 1))
        h = int(np.clip(w * rng.uniform(0.75, 1.33), min_object, max_object))
        x0, y0 = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
        box = (x0, y0, x0 + w - 1, y0 + h - 1)
        if all(box[0] > b[2] + 1 or box[2] < b[0] - 1 or box[1] > b[3] + 1 or box[3] < b[1] - 1 for b in taken):
            return box
    return None


def shapes(size: int = 96, num_samples: int = 600, max_objects: int = 4, min_object: int = 12,
           max_object: int = 40, empty_fraction: float = 0.05, noise: float = 0.08, clutter: int = 4,
           val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0) -> Splits:
    """Circles, squares, triangles and crosses (0 to ``max_objects`` per image, varied sizes and
    colours) on noisy backgrounds with clutter lines; a few images hold no object (negatives)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    images, targets = [], []
    for _ in range(num_samples):
        img = Image.new("RGB", (size, size), tuple(int(c) for c in rng.integers(0, 110, 3)))
        draw = ImageDraw.Draw(img)
        for _ in range(clutter):
            pts = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2)]
            draw.line(pts, fill=tuple(int(c) for c in rng.integers(0, 150, 3)), width=int(rng.integers(1, 3)))
        n = 0 if rng.random() < empty_fraction else int(rng.integers(1, max_objects + 1))
        boxes, labels = [], []
        for _ in range(n):
            box = _place(rng, size, min_object, max_object, boxes)
            if box is None:
                continue
            label = int(rng.integers(len(SHAPES)))
            _draw(draw, SHAPES[label], box, tuple(int(c) for c in rng.integers(120, 256, 3)))
            boxes.append(box)
            labels.append(label)
        array = np.asarray(img).astype(np.float32) + rng.normal(0, noise * 255, (size, size, 3))
        images.append(torch.from_numpy(np.clip(array, 0, 255).astype(np.uint8)).permute(2, 0, 1).contiguous())
        exact = [[b[0], b[1], b[2] + 1, b[3] + 1] for b in boxes]
        targets.append(target(exact, labels))
    return splits(list(SHAPES), DetectionDataset(images, targets), val_fraction=val_fraction,
                  test_fraction=test_fraction, seed=seed)
