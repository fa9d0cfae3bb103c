"""Rules that choose ``auto`` detection settings from the training split (sizes and counts only,
never a dataset's name), each returning ``(value, reason)`` for :meth:`taskhub.Task.resolve_auto`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from taskhub_detection.data import DetectionDataset


def input_size(train: DetectionDataset, min_object_px: float, largest: int, stride: int = 32) -> tuple[int, str]:
    """The detector's square input side: the smallest that keeps nine in ten training objects at
    least ``min_object_px`` on their shorter side (small objects need pixels; big ones do not, and
    every halving of the side quarters the cost), rounded to a multiple of ``stride``, never above
    the images' own median longer side (no upscaling) nor ``largest``."""
    sizes = train.shown_sizes()
    if not sizes:
        return min(largest, 256), "no training images"
    longest = int(np.median([max(w, h) for w, h in sizes]))
    relative = []
    for image, (w, h), tgt in zip(train.images, train.sizes, train.targets):
        if not isinstance(image, Path):  # decoded (and maybe shrunk) already: boxes are in its pixels
            h, w = image.shape[-2:]
        keep = tgt["iscrowd"] == 0
        b = tgt["boxes"][keep].numpy()
        if len(b):
            relative.extend((np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / max(w, h)).tolist())
    cap = min(largest, longest)
    if not relative:
        return cap, f"no objects in the training images; their median longer side is {longest}"
    small = float(np.percentile(relative, 10))
    need = min_object_px / max(small, 1e-6)
    side = int(min(cap, max(2 * stride, round(need / stride) * stride)))
    reason = (f"the 10th-percentile object is {small:.3f} of its image's longer side: {side} px keeps it "
              f"~{small * side:.0f} px (target {min_object_px:g}); images' median longer side {longest}")
    return side, reason


def augmentation(num_train: int, small_below: int, box_aware: list[Any]) -> tuple[list[Any] | None, str]:
    """The box-aware set for a small training set (a from-scratch detector overfits a few hundred
    images within tens of epochs); none for a large one, where more real images do that job."""
    if num_train < small_below:
        return list(box_aware), f"{num_train} training images (< {small_below}): box-aware augmentation"
    return None, f"{num_train} training images (>= {small_below}): no augmentation needed"
