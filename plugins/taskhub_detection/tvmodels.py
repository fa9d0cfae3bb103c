"""torchvision's detectors by name, behind the same interface as :class:`CenterNet`.

Faster R-CNN and SSD reserve label 0 for background, so for them labels shift by one on the
way in and out and ``num_classes`` grows by one; RetinaNet and FCOS score classes independently. Nothing downloads unless a torchvision weights name is given:
``weights`` and ``weights_backbone`` may be local state-dict files.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from taskhub import UserError, unknown_choice

log = logging.getLogger("taskhub")

#: model name -> how that family names its score threshold, NMS IoU and max-detections arguments
DETECTORS: dict[str, tuple[str, str, str]] = {
    "fasterrcnn_mobilenet_v3_large_fpn": ("box_score_thresh", "box_nms_thresh", "box_detections_per_img"),
    "fasterrcnn_mobilenet_v3_large_320_fpn": ("box_score_thresh", "box_nms_thresh", "box_detections_per_img"),
    "fasterrcnn_resnet50_fpn": ("box_score_thresh", "box_nms_thresh", "box_detections_per_img"),
    "fasterrcnn_resnet50_fpn_v2": ("box_score_thresh", "box_nms_thresh", "box_detections_per_img"),
    "retinanet_resnet50_fpn": ("score_thresh", "nms_thresh", "detections_per_img"),
    "retinanet_resnet50_fpn_v2": ("score_thresh", "nms_thresh", "detections_per_img"),
    "fcos_resnet50_fpn": ("score_thresh", "nms_thresh", "detections_per_img"),
    "ssdlite320_mobilenet_v3_large": ("score_thresh", "nms_thresh", "detections_per_img"),
    "ssd300_vgg16": ("score_thresh", "nms_thresh", "detections_per_img"),
}


def _is_file_like(value: str) -> bool:
    return Path(value).suffix in (".pt", ".pth", ".bin") or "/" in value or Path(value).exists()


def _read_state(path: str, setting: str) -> dict[str, torch.Tensor]:
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"{setting}={path}: file not found (give a local state-dict file, or a torchvision "
                        f"weights name such as DEFAULT to download)")
    state = torch.load(p, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # a taskhub or torchvision-references checkpoint
    if not isinstance(state, dict):
        raise UserError(f"{setting}={path}: not a state dict")
    return state


def load_matching(module: nn.Module, state: dict[str, torch.Tensor], setting: str) -> int:
    """Load the tensors of ``state`` whose names (after dropping a common prefix) and shapes match
    ``module``; returns how many. Heads sized for other classes are skipped, and said so."""
    own = module.state_dict()
    best: dict[str, torch.Tensor] = {}
    for prefix in ("", "net.", "features.", "backbone.", "backbone.body.", "body.", "module."):
        cand = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        matched = {k: v for k, v in cand.items() if k in own and own[k].shape == v.shape}
        if len(matched) > len(best):
            best = matched
    if not best:
        raise UserError(f"{setting}: none of its {len(state)} tensors fit this model; is it for another architecture?")
    skipped = len([k for k in own if k not in best])
    if skipped:
        log.info("%s: loaded %d tensors, %d left at their initial values (e.g. a head for other classes)",
                 setting, len(best), skipped)
    module.load_state_dict(best, strict=False)
    return len(best)


class TorchvisionDetector(nn.Module):
    """A torchvision detector by name (``model.name=fasterrcnn_mobilenet_v3_large_fpn``)."""

    def __init__(self, num_classes: int, name: str = "fasterrcnn_mobilenet_v3_large_fpn",
                 weights: str | None = None, weights_backbone: str | None = None,
                 min_size: int | None = None, max_size: int | None = None, score_threshold: float = 0.05,
                 nms_iou: float = 0.5, max_detections: int = 100, trainable_backbone_layers: int | None = None,
                 anchor_sizes: list[list[int]] | None = None, aspect_ratios: list[float] | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        import torchvision

        if name not in DETECTORS:
            raise unknown_choice("torchvision detector", name, DETECTORS, "(model.name)")
        score_key, nms_key, max_key = DETECTORS[name]
        self.shift = 1 if name.startswith(("fasterrcnn", "ssd")) else 0
        options: dict[str, Any] = {score_key: score_threshold, nms_key: nms_iou, max_key: int(max_detections), **kwargs}
        if not name.startswith("ssd"):
            options.update({k: v for k, v in (("min_size", min_size), ("max_size", max_size)) if v is not None})
        if anchor_sizes:
            options.update(_anchors(name, anchor_sizes, aspect_ratios))
        if trainable_backbone_layers is not None:
            options["trainable_backbone_layers"] = int(trainable_backbone_layers)
        hub = weights if weights and not _is_file_like(str(weights)) else None
        hub_backbone = weights_backbone if weights_backbone and not _is_file_like(str(weights_backbone)) else None
        # hub weights come with COCO's 91 classes: build that head, then swap the class layer below
        self.net = torchvision.models.get_model(
            name, weights=hub, weights_backbone=hub_backbone,
            **({} if hub else {"num_classes": num_classes + self.shift}), **options)
        if hub:
            self._resize_head(num_classes + self.shift)
        if weights and not hub:
            load_matching(self.net, _read_state(str(weights), "model.weights"), "model.weights")
        if weights_backbone and not hub_backbone:
            body = getattr(self.net.backbone, "body", self.net.backbone)
            load_matching(body, _read_state(str(weights_backbone), "model.weights_backbone"), "model.weights_backbone")

    def _resize_head(self, classes: int) -> None:
        net = self.net
        if hasattr(net, "roi_heads"):
            from torchvision.models.detection.faster_rcnn import FastRCNNPredictor

            net.roi_heads.box_predictor = FastRCNNPredictor(net.roi_heads.box_predictor.cls_score.in_features, classes)
        else:
            raise UserError(f"model.weights={type(net).__name__}: pretrained hub weights are supported for Faster "
                            f"R-CNN only; pass a local file for other detectors")

    def forward(self, images: list[torch.Tensor], targets: list[dict] | None = None):
        if self.training:
            shifted = [{"boxes": t["boxes"][t["iscrowd"] == 0].float(), "labels": t["labels"][t["iscrowd"] == 0] + self.shift}
                       for t in targets or []]
            return self.net([im.float() for im in images], shifted)
        out = self.net([im.float() for im in images])
        return [{**o, "labels": o["labels"] - self.shift} for o in out]


def _anchors(name: str, sizes: list[list[int]], ratios: list[float] | None) -> dict[str, Any]:
    """An AnchorGenerator for the ResNet-50 FPN Faster R-CNN and RetinaNet (one size list per FPN
    level, five levels); the other builders fix their own anchors."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    keys = {"fasterrcnn_resnet50_fpn": "rpn_anchor_generator", "fasterrcnn_resnet50_fpn_v2": "rpn_anchor_generator",
            "retinanet_resnet50_fpn": "anchor_generator", "retinanet_resnet50_fpn_v2": "anchor_generator"}
    if name not in keys:
        raise UserError(f"model.anchor_sizes: {name} fixes its own anchors; set it for {', '.join(sorted(keys))}")
    if len(sizes) != 5:
        raise UserError(f"model.anchor_sizes: give 5 lists (one per FPN level), got {len(sizes)}")
    sizes_t = tuple(tuple(int(v) for v in level) for level in sizes)
    ratio = tuple(float(r) for r in (ratios or (0.5, 1.0, 2.0)))
    return {keys[name]: AnchorGenerator(sizes_t, (ratio,) * len(sizes_t))}
