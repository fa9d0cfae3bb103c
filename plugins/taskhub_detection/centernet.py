"""A small anchor-free detector (CenterNet-style) that trains from scratch on a CPU in minutes.

One stride-4 feature map predicts, per class, a heatmap of object centres, plus each centre's
sub-cell offset and log box size. No anchors and no NMS are needed (a 3x3 max-pool keeps local
peaks), which is why it is small and quick to learn. Same interface as torchvision's detectors:
``model(images, targets)`` returns a dict of losses in training and detections otherwise.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CenterNet(nn.Module):
    """``widths``: channels of the stride 2, 4, 8, 16 (...) stages; the head works at stride 4."""

    stride = 4

    def __init__(self, num_classes: int, input_size: int | Sequence[int] = 96,
                 widths: Sequence[int] = (16, 32, 64, 128), head_width: int = 64,
                 score_threshold: float = 0.05, nms_iou: float | None = None, max_detections: int = 100,
                 size_weight: float = 1.0, offset_weight: float = 1.0) -> None:
        super().__init__()
        if len(widths) < 3:
            raise ValueError("CenterNet needs at least 3 stages (strides 2, 4, 8)")
        self.num_classes = num_classes
        size = [int(input_size)] * 2 if isinstance(input_size, (int, float)) else [int(s) for s in input_size]
        self.input_size = (size[0], size[1])
        self.score_threshold, self.nms_iou, self.max_detections = score_threshold, nms_iou, int(max_detections)
        self.size_weight, self.offset_weight = size_weight, offset_weight
        stages, c = [], 3
        for w in widths:
            stages.append(nn.Sequential(conv(c, w, 2), conv(w, w)))
            c = w
        self.stages = nn.ModuleList(stages)
        # top-down path back to stride 4: each deeper map is upsampled and added to a lateral one
        self.lateral = nn.ModuleList(nn.Conv2d(w, head_width, 1) for w in widths[1:])
        self.smooth = conv(head_width, head_width)
        self.heads = nn.ModuleDict({
            "heatmap": nn.Sequential(conv(head_width, head_width), nn.Conv2d(head_width, num_classes, 1)),
            "box": nn.Sequential(conv(head_width, head_width), nn.Conv2d(head_width, 4, 1)),
        })
        # start every centre at probability 0.01 so the many background cells do not swamp the loss
        nn.init.constant_(self.heads["heatmap"][-1].bias, -4.6)

    # --- network ------------------------------------------------------------------------------
    def features(self, x: torch.Tensor) -> torch.Tensor:
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        top = self.lateral[-1](maps[-1])
        for lateral, m in zip(reversed(self.lateral[:-1]), reversed(maps[1:-1])):
            top = lateral(m) + F.interpolate(top, size=m.shape[-2:], mode="nearest")
        return self.smooth(top)

    def prepare(self, images: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Resize every image to ``input_size`` and normalise; returns the batch and per-image
        (sx, sy) scales from input to original pixels."""
        h, w = self.input_size
        batch = torch.stack([F.interpolate(im[None].float(), size=(h, w), mode="bilinear", align_corners=False)[0]
                             for im in images])
        scales = torch.tensor([[im.shape[-1] / w, im.shape[-2] / h] for im in images], device=batch.device)
        return (batch - 0.45) / 0.25, scales

    def forward(self, images: Sequence[torch.Tensor], targets: Sequence[dict] | None = None):
        x, scales = self.prepare(images)
        f = self.features(x)
        heat, box = self.heads["heatmap"](f), self.heads["box"](f)
        if self.training:
            if targets is None:
                raise ValueError("targets are needed in training mode")
            return self.loss(heat, box, targets, scales)
        return self.decode(heat, box, scales)

    # --- training -----------------------------------------------------------------------------
    def encode(self, tgt: dict, scale: torch.Tensor, shape: tuple[int, int]) -> tuple[torch.Tensor, ...]:
        """Heatmap, box targets and a mask of centre cells for one image (on the feature grid)."""
        H, W = shape
        dev = scale.device
        heat = torch.zeros(self.num_classes, H, W, device=dev)
        reg = torch.zeros(4, H, W, device=dev)
        mask = torch.zeros(H, W, dtype=torch.bool, device=dev)
        keep = tgt["iscrowd"] == 0 if "iscrowd" in tgt else torch.ones_like(tgt["labels"], dtype=torch.bool)
        boxes, labels = tgt["boxes"][keep].float(), tgt["labels"][keep]
        if len(boxes) == 0:
            return heat, reg, mask
        b = boxes / scale.repeat(2) / self.stride  # feature-grid units
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        bw, bh = (b[:, 2] - b[:, 0]).clamp_min(1e-3), (b[:, 3] - b[:, 1]).clamp_min(1e-3)
        ix, iy = cx.long().clamp(0, W - 1), cy.long().clamp(0, H - 1)
        sx, sy = (0.54 * bw / 6).clamp_min(0.5), (0.54 * bh / 6).clamp_min(0.5)  # TTFNet's elliptic Gaussians
        xs = torch.arange(W, device=dev).view(1, 1, W)
        ys = torch.arange(H, device=dev).view(1, H, 1)
        g = torch.exp(-((xs - ix.view(-1, 1, 1)) ** 2) / (2 * sx.view(-1, 1, 1) ** 2)
                      - ((ys - iy.view(-1, 1, 1)) ** 2) / (2 * sy.view(-1, 1, 1) ** 2))
        onehot = F.one_hot(labels, self.num_classes).float()  # (K, C): each Gaussian into its class map
        heat = (onehot[:, :, None, None] * g[:, None]).amax(0)
        reg[:, iy, ix] = torch.stack([cx - ix, cy - iy, bw.log(), bh.log()])
        mask[iy, ix] = True
        return heat, reg, mask

    def loss(self, heat: torch.Tensor, box: torch.Tensor, targets: Sequence[dict], scales: torch.Tensor) -> dict:
        encoded = [self.encode(t, s, heat.shape[-2:]) for t, s in zip(targets, scales)]
        th, treg, mask = (torch.stack(parts) for parts in zip(*encoded))
        p = heat.float().sigmoid().clamp(1e-4, 1 - 1e-4)
        pos = th.eq(1).float()
        # CenterNet's focal loss: cells near a centre are penalised less for firing
        pos_loss = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
        neg_loss = -(torch.log(1 - p) * p ** 2 * (1 - th) ** 4 * (1 - pos)).sum()
        n = pos.sum().clamp_min(1)
        m = mask.unsqueeze(1).expand_as(treg)
        pred = torch.cat([box[:, :2].sigmoid(), box[:, 2:]], 1).float()
        offset = F.l1_loss(pred[:, :2][m[:, :2]], treg[:, :2][m[:, :2]], reduction="sum") / n
        size = F.l1_loss(pred[:, 2:][m[:, 2:]], treg[:, 2:][m[:, 2:]], reduction="sum") / n
        return {"heatmap": (pos_loss + neg_loss) / n, "offset": self.offset_weight * offset,
                "size": self.size_weight * size}

    # --- inference ----------------------------------------------------------------------------
    def decode(self, heat: torch.Tensor, box: torch.Tensor, scales: torch.Tensor) -> list[dict]:
        import torchvision

        p = heat.float().sigmoid()
        peaks = p * (F.max_pool2d(p, 3, 1, 1) == p)  # a 3x3 local maximum stands in for NMS
        B, C, H, W = p.shape
        k = min(self.max_detections, C * H * W)
        scores, index = peaks.view(B, -1).topk(k)
        labels, cell = index // (H * W), index % (H * W)
        ys, xs = (cell // W).float(), (cell % W).float()
        out = []
        for i in range(B):
            reg = box[i].float().view(4, -1)[:, cell[i]]
            cx, cy = xs[i] + reg[0].sigmoid(), ys[i] + reg[1].sigmoid()
            w, h = reg[2].clamp(max=8).exp(), reg[3].clamp(max=8).exp()
            b = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1) * self.stride
            b = b * scales[i].repeat(2)
            b[:, 0::2] = b[:, 0::2].clamp(0, self.input_size[1] * scales[i, 0])
            b[:, 1::2] = b[:, 1::2].clamp(0, self.input_size[0] * scales[i, 1])
            keep = scores[i] > self.score_threshold
            b, s, y = b[keep], scores[i][keep], labels[i][keep]
            if self.nms_iou is not None and len(b):
                kept = torchvision.ops.batched_nms(b, s, y, float(self.nms_iou))
                b, s, y = b[kept], s[kept], y[kept]
            out.append({"boxes": b, "scores": s, "labels": y})
        return out
