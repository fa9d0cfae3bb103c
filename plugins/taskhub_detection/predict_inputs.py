"""What ``taskhub predict`` and ``Predictor.predict`` hand the detection task: the one place raw
inputs (paths, folders, globs, arrays) become named uint8 RGB images."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from taskhub.data import expand_paths
from taskhub_detection.data import IMAGE_SUFFIXES, decode


def as_images(inputs: Sequence[Any]) -> Iterable[tuple[str, torch.Tensor]]:
    """(name, uint8 (3, H, W) image) pairs from paths, directories, globs, or (C, H, W) / (H, W, C)
    arrays (floats in 0..1 or integers in 0..255)."""
    import numpy as np

    paths = [x for x in inputs if isinstance(x, (str, Path))]
    others = [x for x in inputs if not isinstance(x, (str, Path))]
    for p in expand_paths(paths, IMAGE_SUFFIXES) if paths else []:
        yield str(p), decode(p)
    for i, x in enumerate(others):
        t = torch.as_tensor(np.asarray(x))
        if t.dim() == 2:
            t = t.unsqueeze(0)
        if t.dim() == 3 and t.shape[0] not in (1, 3) and t.shape[-1] in (1, 3):
            t = t.permute(2, 0, 1)
        if t.dtype.is_floating_point:
            t = (t.clamp(0, 1) * 255).round()
        t = t.to(torch.uint8)
        yield f"array[{i}]", t.expand(3, -1, -1) if t.shape[0] == 1 else t
