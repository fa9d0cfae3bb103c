"""Detection samples in one convention: uint8 (C, H, W) images, xyxy pixel boxes, contiguous labels.

Every loader (built-in, COCO, VOC, Penn-Fudan) produces :class:`DetectionData`; the task never
needs to know which format a sample came from.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from taskhub import UserError
from taskhub.data import seeded_split

log = logging.getLogger("taskhub")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
#: how far (pixels) a box may poke out of its image before it counts as bad (rounding in exports)
TOLERANCE = 1.0


def target(boxes: Any, labels: Any, iscrowd: Any = None) -> dict[str, torch.Tensor]:
    """A target dict: ``boxes`` (K, 4) float xyxy, ``labels`` (K,) int64, ``iscrowd`` (K,) int64.

    ``iscrowd`` marks regions evaluation ignores and training skips (COCO crowds, VOC difficult).
    """
    b = torch.as_tensor(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64).reshape(-1))
    c = torch.zeros_like(y) if iscrowd is None else torch.as_tensor(np.asarray(iscrowd, dtype=np.int64).reshape(-1))
    return {"boxes": b, "labels": y, "iscrowd": c}


def read_image(path: Path, max_size: int | None = None) -> tuple[torch.Tensor, float]:
    """Decode ``path`` to a uint8 RGB (3, H, W) tensor, shrunk so its longer side is at most
    ``max_size``; returns the image and the scale applied to it (boxes must follow)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            scale = 1.0
            if max_size and max(img.size) > max_size:
                scale = max_size / max(img.size)
                img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.BILINEAR)
            array = np.asarray(img, dtype=np.uint8)
    except FileNotFoundError:
        raise UserError(f"{path}: image file not found") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read this image ({exc}); fix or remove the file") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous(), scale


class DetectionDataset(Dataset):
    """(image, target) pairs; images are tensors already, or files decoded on first access.

    ``cache`` keeps decoded files in memory (small datasets re-decode nothing each epoch).
    ``transform(image, target) -> (image, target)`` is the box-aware augmentation.
    """

    def __init__(self, images: Sequence[torch.Tensor | Path], targets: Sequence[dict[str, torch.Tensor]],
                 max_size: int | None = None, cache: bool = True,
                 transform: Callable | None = None) -> None:
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.images, self.targets = list(images), list(targets)
        self.max_size, self.cache, self.transform = max_size, cache, transform

    def __len__(self) -> int:
        return len(self.images)

    def load(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Sample ``i`` without augmentation."""
        image, tgt = self.images[i], self.targets[i]
        if isinstance(image, Path):
            image, scale = read_image(image, self.max_size)
            if scale != 1.0:
                tgt = {**tgt, "boxes": tgt["boxes"] * scale}
            if self.cache:
                self.images[i], self.targets[i] = image, tgt
        return image, tgt

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        image, tgt = self.load(i)
        return self.transform(image, tgt) if self.transform else (image, tgt)

    def subset(self, index: Sequence[int] | torch.Tensor) -> DetectionDataset:
        idx = [int(i) for i in index]
        return DetectionDataset([self.images[i] for i in idx], [self.targets[i] for i in idx],
                                self.max_size, self.cache)


def collate(batch: list[tuple[torch.Tensor, dict]]) -> tuple[list[torch.Tensor], list[dict]]:
    """Detection batches stay lists: images of different sizes need no padding here."""
    return [b[0] for b in batch], [b[1] for b in batch]


@dataclass
class DetectionData:
    train: DetectionDataset | None
    val: DetectionDataset | None
    test: DetectionDataset | None
    labels: list[str]


def carve(full: DetectionDataset, val_fraction: float, test_fraction: float, seed: int
          ) -> tuple[DetectionDataset, DetectionDataset | None, DetectionDataset | None]:
    """A seeded train/val/test split, for formats that ship no split of their own."""
    train, val, test = seeded_split(len(full), val_fraction, test_fraction, seed)
    return full.subset(train), full.subset(val) if len(val) else None, full.subset(test) if len(test) else None


class BadBoxes:
    """Collects boxes outside their image or with no area while a file is parsed, then applies
    ``policy``: ``error`` (default: one line naming the file and the count), ``clip`` or ``drop``
    (both logged with their count). Nothing is dropped silently."""

    def __init__(self, source: str, policy: str = "error") -> None:
        if policy not in ("error", "clip", "drop"):
            raise UserError(f"dataset.bad_boxes={policy}: choose error, clip or drop")
        self.source, self.policy = source, policy
        self.count, self.first = 0, ""

    def check(self, boxes: np.ndarray, width: float, height: float, where: str) -> np.ndarray:
        """A keep-mask over ``boxes`` (xyxy, clipped in place to the image within the tolerance)."""
        boxes = boxes.reshape(-1, 4)
        t = TOLERANCE
        inside = (boxes[:, 0] >= -t) & (boxes[:, 1] >= -t) & (boxes[:, 2] <= width + t) & (boxes[:, 3] <= height + t)
        positive = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        bad = ~(inside & positive)
        if bad.any():
            if not self.first:
                i = int(np.flatnonzero(bad)[0])
                self.first = f"{where} box {[round(float(v), 1) for v in boxes[i]]} in a {width:g}x{height:g} image"
            self.count += int(bad.sum())
        np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
        if self.policy == "clip":
            return (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        if self.policy == "drop":
            return ~bad
        return np.ones(len(boxes), dtype=bool)  # finish() raises

    def finish(self) -> None:
        if not self.count:
            return
        if self.policy == "error":
            raise UserError(f"{self.source}: {self.count} box(es) outside their image or with zero area "
                            f"(first: {self.first}); fix them, or set dataset.bad_boxes=clip or drop")
        log.warning("%s: %s %d box(es) outside their image or with zero area (first: %s)",
                    self.source, "clipped or dropped" if self.policy == "clip" else "dropped", self.count, self.first)
