"""COCO-style mAP (torchmetrics' MeanAveragePrecision), shaped for the engine's summaries."""
from __future__ import annotations

import torch
from torchmetrics.detection import MeanAveragePrecision

#: the scalar results kept (summary.json gets ``<split>/<key>``)
SCALARS = ("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_100")


class DetectionMAP(MeanAveragePrecision):
    """MeanAveragePrecision with per-class AP as one (2, C) tensor ``per_class`` (class index row,
    AP row), so that it is never mistaken for a scalar and lands in ``run.results`` for the plots;
    ``pr_50`` (C, 101): each class's precision at the 101 COCO recall points, IoU 0.5, all areas,
    100 detections (-1 where the class has no true box), for the precision-recall plot."""

    def __init__(self, backend: str = "faster_coco_eval") -> None:
        super().__init__(box_format="xyxy", iou_type="bbox", class_metrics=True, extended_summary=True,
                         backend=backend)

    def compute(self) -> dict[str, torch.Tensor]:
        raw = super().compute()
        out = {k: raw[k] for k in SCALARS}
        classes = raw["classes"].reshape(-1).float()
        out["per_class"] = torch.stack([classes, raw["map_per_class"].reshape(-1).float()]) if len(classes) \
            else torch.zeros(2, 0)
        precision = raw.get("precision")  # (IoU thresholds, recall points, classes, areas, max detections)
        out["pr_50"] = precision[0, :, :, 0, -1].T.float() if isinstance(precision, torch.Tensor) and \
            precision.dim() == 5 and precision.shape[2] == len(classes) else torch.zeros(0, 101)
        return out
