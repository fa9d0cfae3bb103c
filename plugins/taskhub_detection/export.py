"""Export for detection: CenterNet's network (backbone and heads, dynamic batch at the model's
input size) goes into the graph; resizing, normalisation and box decoding (peaks, offsets, sizes,
optional NMS) stay in the task and run around the bundle's network. torchvision's detectors are
refused: their anchors, image lists and NMS do not trace to one graph."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from taskhub import ExportSpec, UserError


class CenterNetNetwork(nn.Module):
    """The traced part: a normalised batch at the input size -> (heatmap logits, box regressions)."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.detector.features(images)
        return self.detector.heads["heatmap"](f), self.detector.heads["box"](f)


class BundleDetector(nn.Module):
    """A detector for ``predict``: the task's resizing and decoding around an exported network."""

    def __init__(self, detector: nn.Module, network: nn.Module) -> None:
        super().__init__()
        self.detector, self.network = detector, network

    def forward(self, images: list[torch.Tensor], targets: Any = None) -> list[dict[str, torch.Tensor]]:
        x, scales = self.detector.prepare(images)
        heat, box = self.network(x)
        return self.detector.decode(heat, box, scales)


def _check(model: nn.Module) -> None:
    if not all(hasattr(model, a) for a in ("features", "heads", "prepare", "decode")):
        raise UserError(f"detection: model {type(model).__name__} does not export (torchvision detectors' anchors, "
                        f"image lists and NMS do not trace to one graph); train model=centernet to export")


def export_spec(task: Any, model: nn.Module, batch: Any) -> ExportSpec:
    _check(model)
    images, _ = batch
    x, _ = model.prepare([im.float() / 255.0 if not im.dtype.is_floating_point else im for im in images])

    def detections(outputs: list[np.ndarray]) -> list[Any]:
        scales = torch.ones(len(outputs[0]), 2)
        found = model.decode(torch.from_numpy(outputs[0]), torch.from_numpy(outputs[1]), scales)
        return [(d["labels"].tolist(), d["boxes"].round(decimals=1).tolist()) for d in found]

    return ExportSpec(module=CenterNetNetwork(model), example_inputs={"images": x},
                      output_names=["heatmap", "box"], state=task.state_dict(), decide=detections)


def bundle_model(task: Any, network: nn.Module) -> nn.Module:
    detector = task.build_model()  # the architecture from the bundle's checked config; its weights stay unused
    _check(detector)
    return BundleDetector(detector, network)
