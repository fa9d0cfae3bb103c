"""Box-aware augmentation from config: torchvision.transforms.v2 ops on tv_tensors.BoundingBoxes.

v2 moves boxes with the image (flips, scale jitter, crops); ``SanitizeBoundingBoxes`` then
removes boxes a crop cut away entirely, which is what the crop means, not lost data.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf


def augmentation(specs: list[dict]) -> Callable:
    """A ``(image, target) -> (image, target)`` transform applying the configured v2 ops."""
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    ops = [instantiate(OmegaConf.create(dict(s))) for s in specs]
    pipeline = v2.Compose([*ops, v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes(min_size=1.0, labels_getter=_labels)])

    def transform(image: torch.Tensor, tgt: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        boxes = tv_tensors.BoundingBoxes(tgt["boxes"], format="XYXY", canvas_size=tuple(image.shape[-2:]))
        img, out = pipeline(tv_tensors.Image(image), {"boxes": boxes, "labels": tgt["labels"],
                                                      "iscrowd": tgt["iscrowd"]})
        return img.as_subclass(torch.Tensor), {"boxes": out["boxes"].as_subclass(torch.Tensor).float(),
                                               "labels": out["labels"], "iscrowd": out["iscrowd"]}

    return transform


def _labels(inputs: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-box tensors that must follow the boxes SanitizeBoundingBoxes removes."""
    tgt = next(x for x in (inputs if isinstance(inputs, tuple) else (inputs,)) if isinstance(x, dict))
    return tgt["labels"], tgt["iscrowd"]
