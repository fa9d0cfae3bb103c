"""What ``taskhub predict`` and ``Predictor.predict`` hand the vision task: the one place raw
inputs (paths, folders, globs, arrays, tensors) become uint8 images of the trained size."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from taskhub.data import expand_paths
from taskhub_vision.datasets import IMAGE_SUFFIXES, read_image


def as_images(inputs: Sequence[Any]) -> Iterable[tuple[str, Any]]:
    """(name, image) pairs from paths, directories, globs, arrays or tensors (files decoded later)."""
    import numpy as np

    paths = [x for x in inputs if isinstance(x, (str, Path))]
    others = [x for x in inputs if not isinstance(x, (str, Path))]
    for p in expand_paths(paths, IMAGE_SUFFIXES) if paths else []:
        yield str(p), p
    for i, x in enumerate(others):
        yield f"array[{i}]", torch.as_tensor(np.asarray(x))


def to_tensor(x: Any, channels: int, size: tuple[int, int]) -> torch.Tensor:
    """A path or an array ((C, H, W) or (H, W, C); floats in 0..1 or integers) as a uint8
    (channels, *size) tensor, as the model was trained on."""
    if not isinstance(x, torch.Tensor):
        return read_image(x, channels, size)
    t = x if x.dim() == 3 else x.unsqueeze(0)
    if t.shape[0] not in (1, 3) and t.shape[-1] in (1, 3):
        t = t.permute(2, 0, 1)
    if t.dtype.is_floating_point and t.max() <= 1.0:
        t = (t * 255).round()
    t = t.to(torch.uint8)
    if t.shape[0] != channels:
        t = t.float().mean(0, keepdim=True).to(torch.uint8) if channels == 1 else t.expand(3, -1, -1)
    if tuple(t.shape[-2:]) != tuple(size):
        t = F.interpolate(t[None].float(), size=size, mode="bilinear", align_corners=False)[0].round().to(torch.uint8)
    return t
