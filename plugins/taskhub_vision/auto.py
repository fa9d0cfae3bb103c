"""Rules that choose ``auto`` image settings from the training split (sizes, colour modes and
pixel statistics, never a dataset's name) or from the model's pretrained weights (their
normalisation, a fine-tuning learning rate), each returning ``(value, reason)`` for
:meth:`taskhub.Task.resolve_auto`."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from taskhub_vision.datasets import GRAY_MODES


def _sampled(survey: dict[str, Any]) -> str:
    n, count = len(survey["sizes"]), int(survey["count"])
    return "every training image" if n == count else f"all {n} sampled training images (of {count})"


def image_size(survey: dict[str, Any], largest: int, multiple: int) -> tuple[int | list[int], str]:
    """The images' own size when they share one (and it is at most ``largest``); otherwise the
    median shorter side rounded to a multiple of ``multiple`` and capped at ``largest``, square."""
    sizes = survey["sizes"]
    if not sizes:
        return min(64, largest), "no training images to measure"
    shared = set(sizes)
    if len(shared) == 1:
        w, h = sizes[0]
        if max(w, h) <= largest:
            return (h if h == w else [h, w]), f"{_sampled(survey)} is {w}x{h}"
    short = float(np.median([min(w, h) for w, h in sizes]))
    side = int(min(largest, max(multiple, round(short / multiple) * multiple)))
    ws, hs = [w for w, _ in sizes], [h for _, h in sizes]
    capped = f", capped at {largest}" if side == largest and short > largest else ""
    return side, (f"training images from {min(ws)}x{min(hs)} to {max(ws)}x{max(hs)}; median shorter side "
                  f"{short:g} rounded to a multiple of {multiple}{capped}")


def grayscale(survey: dict[str, Any], check: int = 32) -> tuple[bool, str]:
    """True when every (sampled) training image is grayscale: a gray colour mode, or colour
    images whose channels are all equal (checked by decoding up to ``check`` of them)."""
    from PIL import Image

    modes = survey["modes"]
    if not modes:
        return False, "no training images to measure"
    colour = [f for f, m in zip(survey["files"], modes) if m not in GRAY_MODES]
    if not colour:
        return True, f"{_sampled(survey)} is grayscale ({', '.join(sorted(set(modes)))})"
    for f in colour[:check]:
        with Image.open(f) as img:
            mode, rgb = img.mode, np.asarray(img.convert("RGB"))
        if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])):
            return False, f"{f.name} has colour ({mode})"
    if len(colour) > check:
        return False, f"{len(colour)} training images are stored in colour modes"
    return True, f"{_sampled(survey)} has equal colour channels"


def mean_std(train: Any, channels: int, seed: int, limit: int = 10_000) -> tuple[list[float], list[float], str]:
    """Per-channel mean and standard deviation of the training pixels (scaled to 0..1), over at
    most ``limit`` seeded training images."""
    n = len(train)
    index = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:limit] if n > limit else torch.arange(n)
    if hasattr(train, "tensors"):
        images = train.tensors["image"][index]
    else:  # decoded per item (streamed folders): a smaller sample
        images = torch.stack([train[int(i)]["image"] for i in index[: min(limit, 500)]])
    x = images.float().div_(255.0).transpose(0, 1).reshape(images.shape[1], -1)
    mean = [round(float(v), 4) for v in x.mean(1)]
    std = [round(max(float(v), 1e-3), 4) for v in x.std(1)]
    what = f"{len(images)} training images" + ("" if len(images) == n else f" (a seeded sample of {n})")
    return mean, std, what


def for_channels(mean: Sequence[float], std: Sequence[float], reason: str,
                 channels: int) -> tuple[list[float], list[float], str]:
    """A pretrained model's RGB normalisation for ``channels``-channel images: grayscale images
    (repeated to RGB by the model after normalising) get the mean of the three values."""
    if channels == 1 and len(mean) == 3:
        return ([round(sum(mean) / 3, 4)], [round(sum(std) / 3, 4)],
                f"{reason}, averaged over RGB for grayscale images")
    return list(mean), list(std), reason


#: Adam(W)'s rate from scratch, and for fine-tuning pretrained weights (10x smaller, so the
#: first steps do not wreck what the weights learnt while the new head is still random)
SCRATCH_LR, FINETUNE_LR = 1e-3, 1e-4


def learning_rate(weights: Any) -> tuple[float, str]:
    """``optimizer.lr: auto``: :data:`FINETUNE_LR` when the model starts from pretrained weights
    (``model.weights``), else :data:`SCRATCH_LR`."""
    if weights:
        return FINETUNE_LR, f"fine-tuning pretrained weights: model.weights={weights}"
    return SCRATCH_LR, "training from scratch: model.weights=null"


def per_channel(value: Sequence[float] | float, channels: int, setting: str) -> list[float]:
    """A mean/std setting as one value per channel (one value is repeated)."""
    from taskhub import UserError

    values = [float(value)] if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise UserError(f"{setting}={values}: give one value or {channels} (one per channel)")
    return values
