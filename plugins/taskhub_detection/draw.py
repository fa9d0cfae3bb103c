"""Pictures of boxes: predictions drawn on images, and predicted-beside-true panels."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
           "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3"]


def draw(image: torch.Tensor, boxes: torch.Tensor, labels: Sequence[int], names: Sequence[str],
         scores: Sequence[float] | None = None) -> torch.Tensor:
    """``image`` (uint8 C, H, W) with ``boxes`` (xyxy) drawn and captioned by class (and score)."""
    from torchvision.utils import draw_bounding_boxes

    image = image.cpu()
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    if len(boxes) == 0:
        return image
    captions = [names[int(y)] if 0 <= int(y) < len(names) else str(int(y)) for y in labels]
    if scores is not None:
        captions = [f"{c} {float(s):.2f}" for c, s in zip(captions, scores)]
    colors = [PALETTE[int(y) % len(PALETTE)] for y in labels]
    width = max(1, min(image.shape[-2:]) // 150)
    return draw_bounding_boxes(image, boxes.cpu().float(), labels=captions, colors=colors, width=width)


def save_png(image: torch.Tensor, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image.permute(1, 2, 0).contiguous().numpy()).save(path)
    return path


def side_by_side(left: torch.Tensor, right: torch.Tensor, gap: int = 4) -> torch.Tensor:
    """Two images of the same size with a white gap between them (predicted | true)."""
    spacer = torch.full((3, left.shape[1], gap), 255, dtype=torch.uint8)
    return torch.cat([left, spacer, right], dim=2)
