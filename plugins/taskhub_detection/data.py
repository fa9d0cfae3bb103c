"""Detection samples in one convention: uint8 (C, H, W) images, xyxy pixel boxes, contiguous labels.

Every loader (built-in, COCO, VOC, Penn-Fudan) returns :class:`taskhub.data.Splits` of
:class:`DetectionDataset`; the task never needs to know which format a sample came from.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from taskhub import UserError
from taskhub.data import BadInputs, Splits, carve_splits

log = logging.getLogger("taskhub")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
#: suffixes torchvision.io.decode_image reads; others go through PIL
DECODABLE = (".png", ".jpg", ".jpeg", ".webp", ".gif")
#: how far (pixels) a box may poke out of its image before it counts as bad (rounding in exports)
TOLERANCE = 1.0
#: dataset.on_bad for detection: error | skip | clip (clip repairs boxes poking out, skips the rest)
ON_BAD = ("error", "skip", "clip")
#: decoded images a dataset keeps in memory, at most (the vision plugin's in-memory threshold): a small
#: set decodes each image once; COCO's 118k training images would need ~27 GB, so the rest re-decode
CACHE_BYTES = 1 << 30


def target(boxes: Any, labels: Any, iscrowd: Any = None) -> dict[str, torch.Tensor]:
    """A target dict: ``boxes`` (K, 4) float xyxy, ``labels`` (K,) int64, ``iscrowd`` (K,) int64.

    ``iscrowd`` marks regions evaluation ignores and training skips (COCO crowds, VOC difficult).
    """
    b = torch.as_tensor(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64).reshape(-1))
    c = torch.zeros_like(y) if iscrowd is None else torch.as_tensor(np.asarray(iscrowd, dtype=np.int64).reshape(-1))
    return {"boxes": b, "labels": y, "iscrowd": c}


def decode(path: Path) -> torch.Tensor:
    """``path`` as a uint8 RGB (3, H, W) tensor (torchvision.io where it reads the format, else PIL)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: image file not found")
    try:
        if path.suffix.lower() in DECODABLE:
            from torchvision.io import ImageReadMode, decode_image

            return decode_image(str(path), mode=ImageReadMode.RGB)
        from PIL import Image

        with Image.open(path) as img:
            return torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
    except (RuntimeError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: cannot read this image ({first}); fix or remove the file") from None


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file, from its header (nothing is decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.size
    except FileNotFoundError:
        raise UserError(f"{path}: image file not found") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read this image ({exc}); fix or remove the file") from None


def read_image(path: Path, max_size: int | None = None) -> tuple[torch.Tensor, float]:
    """Decode ``path`` to a uint8 RGB (3, H, W) tensor, shrunk so its longer side is at most
    ``max_size``; returns the image and the scale applied to it (boxes must follow)."""
    image = decode(path)
    scale = 1.0
    h, w = image.shape[-2:]
    if max_size and max(h, w) > max_size:
        from torchvision.transforms.v2 import functional as TF

        scale = max_size / max(h, w)
        image = TF.resize(image, [max(1, round(h * scale)), max(1, round(w * scale))], antialias=True)
    return image.contiguous(), scale


class DetectionDataset(Dataset):
    """(image, target) pairs; images are tensors already, or files decoded on first access.

    ``sizes`` holds each image's original (width, height), which data-aware defaults read
    without decoding. ``cache`` keeps decoded files in memory, up to ``cache_bytes`` (small datasets
    re-decode nothing each epoch, large ones do not fill the memory). ``transform(image, target) ->
    (image, target)`` is the box-aware augmentation.
    """

    def __init__(self, images: Sequence[torch.Tensor | Path], targets: Sequence[dict[str, torch.Tensor]],
                 max_size: int | None = None, cache: bool = True, transform: Callable | None = None,
                 sizes: Sequence[tuple[int, int]] | None = None, cache_bytes: int = CACHE_BYTES) -> None:
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.images, self.targets = list(images), list(targets)
        self.max_size, self.cache, self.transform = max_size, cache, transform
        self.cache_bytes, self.cached_bytes = int(cache_bytes), 0
        self._sizes = None if sizes is None else [(int(w), int(h)) for w, h in sizes]

    @property
    def sizes(self) -> list[tuple[int, int]]:
        """Each image's original (width, height), read from file headers when not given."""
        if self._sizes is None:
            self._sizes = [(int(im.shape[-1]), int(im.shape[-2])) if isinstance(im, torch.Tensor) else image_size(im)
                           for im in self.images]
        return self._sizes

    def __len__(self) -> int:
        return len(self.images)

    def load(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Sample ``i`` without augmentation."""
        image, tgt = self.images[i], self.targets[i]
        if isinstance(image, Path):
            image, scale = read_image(image, self.max_size)
            if scale != 1.0:
                tgt = {**tgt, "boxes": tgt["boxes"] * scale}
            if self.cache and self.cached_bytes + image.nbytes <= self.cache_bytes:
                self.images[i], self.targets[i] = image, tgt
                self.cached_bytes += image.nbytes
        return image, tgt

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        image, tgt = self.load(i)
        return self.transform(image, tgt) if self.transform else (image, tgt)

    def subset(self, index: Sequence[int] | torch.Tensor) -> DetectionDataset:
        idx = [int(i) for i in index]
        return DetectionDataset([self.images[i] for i in idx], [self.targets[i] for i in idx],
                                self.max_size, self.cache, cache_bytes=self.cache_bytes,
                                sizes=None if self._sizes is None else [self._sizes[i] for i in idx])

    def shown_sizes(self) -> list[tuple[int, int]]:
        """(width, height) of each image as the model receives it (after the ``max_size`` shrink)."""
        if not self.max_size:
            return list(self.sizes)
        out = []
        for w, h in self.sizes:
            s = min(1.0, self.max_size / max(w, h))
            out.append((max(1, round(w * s)), max(1, round(h * s))))
        return out


def collate(batch: list[tuple[torch.Tensor, dict]]) -> tuple[list[torch.Tensor], list[dict]]:
    """Detection batches stay lists: images of different sizes need no padding here."""
    return [b[0] for b in batch], [b[1] for b in batch]


def splits(labels: list[str], train: DetectionDataset | None, val: DetectionDataset | None = None,
           test: DetectionDataset | None = None, *, val_fraction: float = 0.0, test_fraction: float = 0.0,
           seed: int = 0, skipped: dict[str, list[str]] | None = None) -> Splits:
    """The loader's :class:`Splits`: a split the format did not ship (None) is carved from ``train``
    by the one carving rule (:func:`taskhub.data.carve_splits`); ``info`` carries the labels and
    the training images' sizes (what ``auto`` settings read)."""
    if train is not None and (val is None or test is None):
        tr, va, te = carve_splits(len(train), has_val=val is not None, has_test=test is not None,
                                  val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
        carved = train
        train = carved.subset(tr)
        if va is not None and len(va):
            val = carved.subset(va)
        if te is not None and len(te):
            test = carved.subset(te)
    info: dict[str, Any] = {"labels": list(labels)}
    if train is not None:
        info.update(image_sizes=train.shown_sizes(), num_train_images=len(train))
    return Splits(train=train, val=val, test=test, info=info, collate=collate, skipped=dict(skipped or {}))


def on_bad_policy(on_bad: str, bad_boxes: str | None) -> str:
    """``dataset.on_bad``, honouring the deprecated ``dataset.bad_boxes`` (error | clip | drop)."""
    if bad_boxes is not None:
        mapped = {"error": "error", "clip": "clip", "drop": "skip"}.get(str(bad_boxes))
        if mapped is None:
            raise UserError(f"dataset.bad_boxes={bad_boxes}: choose error, clip or drop "
                            f"(deprecated: use dataset.on_bad=error|skip|clip)")
        message = f"dataset.bad_boxes is deprecated: use dataset.on_bad={mapped}"
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        log.warning(message)
        return mapped
    if on_bad not in ON_BAD:
        raise UserError(f"dataset.on_bad={on_bad}: choose one of {', '.join(ON_BAD)}")
    return on_bad


class BadBoxes(BadInputs):
    """The bad-input policy of one detection loader (``dataset.on_bad``): ``error`` stops at the
    first bad file, annotation or box with one line naming it; ``skip`` leaves it out; ``clip``
    clips boxes that poke out of their image and skips what cannot be repaired. Whatever was left
    out or clipped ends in one counted warning. Nothing is used or dropped silently."""

    def __init__(self, policy: str = "error") -> None:
        self.clip = policy == "clip"
        super().__init__("skip" if self.clip else policy)
        self.clipped: list[str] = []

    def check(self, boxes: np.ndarray, width: float, height: float, where: str) -> np.ndarray:
        """A keep-mask over ``boxes`` (xyxy, clipped in place to the image within the tolerance)."""
        from torchvision.ops import clip_boxes_to_image

        boxes = boxes.reshape(-1, 4)
        t = TOLERANCE
        inside = (boxes[:, 0] >= -t) & (boxes[:, 1] >= -t) & (boxes[:, 2] <= width + t) & (boxes[:, 3] <= height + t)
        if len(boxes):
            boxes[:] = clip_boxes_to_image(torch.from_numpy(boxes), (int(round(height)), int(round(width)))).numpy()
        positive = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        keep = np.ones(len(boxes), dtype=bool)
        for i in np.flatnonzero(~(inside & positive)):
            shown = f"{where}: box {[round(float(v), 1) for v in boxes[i]]} in a {width:g}x{height:g} image"
            if self.clip and positive[i]:
                self.clipped.append(shown)
                continue
            self.report(shown, "box outside its image or with zero area" if positive[i] else "box with zero area")
            keep[i] = False
        return keep

    def report(self, where: str, problem: str) -> None:
        if self.policy == "error":
            raise UserError(f"{where}: {problem} (fix it, or pass dataset.on_bad=skip (or clip, for boxes) "
                            f"to leave such inputs out)")
        super().report(where, problem)

    def warn(self, what: str = "annotations") -> None:
        if self.clipped:
            log.warning("clipped %d box(es) poking out of their image (dataset.on_bad=clip): %s%s", len(self.clipped),
                        ", ".join(self.clipped[:3]), ", ..." if len(self.clipped) > 3 else "")
        super().warn(what)
