"""Object detection: the Task that ties detectors, box datasets and mAP to the engine.

Batches are ``(images, targets)``: lists of uint8 (C, H, W) tensors (sizes may differ) and of
target dicts (xyxy pixel ``boxes``, ``labels``, ``iscrowd``). Models take float images in 0..1
and return losses in training and ``{boxes, scores, labels}`` per image otherwise.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from taskhub import Task, UserError
from taskhub.data import DataDescription, Splits, build_splits
from taskhub_detection.data import DetectionDataset
from taskhub_detection.predict_inputs import as_images

if TYPE_CHECKING:
    from torchmetrics import MetricCollection
    from taskhub import Run

log = logging.getLogger("taskhub")
#: dataset settings the task reads itself (the builder never sees them)
TASK_KEYS = ("augment",)


def without(node: DictConfig, keys: Sequence[str]) -> DictConfig:
    """``node`` (interpolations resolved) without the settings in ``keys``."""
    plain = OmegaConf.to_container(node, resolve=True)
    return OmegaConf.create({k: v for k, v in plain.items() if k not in keys})


def as_float(images: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return [im.float() / 255.0 if not im.dtype.is_floating_point else im for im in images]


class DetectionTask(Task):
    """Find objects of named classes; reports COCO mAP, mAP@50, mAP@75 and per-class AP."""

    name = "detection"
    objective = ("val/map", "max")
    dataset_keys = TASK_KEYS
    metrics = ("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_100")

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__(cfg)
        self.labels: list[str] = []

    # --- building -------------------------------------------------------------------------
    def build_data(self, stage: str) -> Splits:
        extra = {}
        if stage == "eval" and self.labels and self.cfg.dataset.get("classes", "absent") is None:
            extra["classes"] = list(self.labels)  # a VOC folder's classes are the checkpoint's
        data = build_splits(without(self.cfg.dataset, (*TASK_KEYS, *extra)), **extra)
        labels = list(data.info["labels"])
        if stage == "fit" and not self.labels:
            self.labels = labels
        elif labels != self.labels:
            self._remap(data, labels)
        data.info["labels"] = list(self.labels)
        if data.train is not None:
            self._resolve_auto(data.train)
        augment = self.cfg.dataset.get("augment")
        if stage == "fit" and augment and data.train is not None:
            from taskhub_detection.augment import augmentation

            data.train.transform = augmentation(list(augment))
        return data

    def _resolve_auto(self, train: DetectionDataset) -> None:
        """``auto`` settings from the training split: the detector's input size from the image
        and object sizes, box-aware augmentation from the number of training images."""
        from taskhub_detection import auto

        rules = self.cfg.task.get("auto") or {}
        if "input_size" in self.cfg.model:
            self.resolve_auto("model.input_size", lambda: auto.input_size(
                train, float(rules.get("min_object_px", 20)), int(rules.get("max_input_size", 512))))
        if "augment" in self.cfg.dataset:
            box_aware = OmegaConf.to_container(rules.get("box_aware_augment") or [], resolve=True)
            self.resolve_auto("dataset.augment", lambda: auto.augmentation(
                len(train), int(rules.get("small_dataset", 1000)), box_aware))

    def _remap(self, data: Splits, labels: list[str]) -> None:
        """Another dataset's labels mapped onto the checkpoint's class names (never refitted)."""
        unknown = [n for n in labels if n not in self.labels]
        if unknown:
            raise UserError(f"dataset classes {unknown[:10]} are not among the checkpoint's {self.labels[:20]}; "
                            f"evaluate on data with the trained class names")
        lookup = torch.tensor([self.labels.index(n) for n in labels], dtype=torch.long)
        for split in (data.train, data.val, data.test):
            if split is not None:
                split.targets = [{**t, "labels": lookup[t["labels"]]} if len(t["labels"]) else t
                                 for t in split.targets]

    def build_model(self) -> torch.nn.Module:
        return instantiate(self.cfg.model, num_classes=len(self.labels))

    def build_metrics(self) -> MetricCollection:
        from torchmetrics import MetricCollection

        from taskhub_detection.metrics import DetectionMAP

        logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)  # it logs a 12-line table per pass
        return MetricCollection({"map": DetectionMAP(backend=str(self.cfg.task.get("map_backend", "faster_coco_eval")))})

    def batch_size(self, batch: Any) -> int:
        return len(batch[0])

    # --- steps ----------------------------------------------------------------------------
    def training_step(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        images, targets = batch
        losses = model(as_float(images), targets)
        return sum(losses.values())

    def evaluation_step(self, model: torch.nn.Module, batch: Any, metrics: MetricCollection) -> None:
        images, targets = batch
        preds = model(as_float(images))
        metrics.update([{k: p[k].float() if k != "labels" else p[k] for k in ("boxes", "scores", "labels")}
                        for p in preds], [{"boxes": t["boxes"].float(), "labels": t["labels"], "iscrowd": t["iscrowd"]}
                                          for t in targets])
        return None

    def predict(self, model: torch.nn.Module, inputs: Sequence[Any]) -> Iterable[dict[str, Any]]:
        from taskhub_detection.draw import draw, save_png

        threshold = float(self.cfg.task.get("score_threshold", 0.3))
        out_dir = self.cfg.task.get("predict_dir")
        device = next(model.parameters()).device
        for name, image in as_images(inputs):
            pred = model(as_float([image.to(device)]))[0]
            keep = pred["scores"] >= threshold
            boxes, scores, labels = pred["boxes"][keep].cpu(), pred["scores"][keep].cpu(), pred["labels"][keep].cpu()
            row: dict[str, Any] = {
                "input": name,
                "boxes": [[round(float(v), 2) for v in b] for b in boxes],
                "labels": [self.labels[int(y)] for y in labels],
                "scores": [round(float(s), 4) for s in scores],
            }
            if out_dir:
                png = Path(str(out_dir)) / f"{Path(name).stem}.png"
                row["drawn"] = str(save_png(draw(image, boxes, labels.tolist(), self.labels, scores.tolist()), png))
            yield row

    # --- artefacts and state --------------------------------------------------------------
    def plots(self, run: Run) -> None:
        """per_class_ap.json; precision-recall per class at IoU 0.5, validation images with predicted
        and true boxes, and boxes per class in each split (see taskhub_detection.plots)."""
        from taskhub_detection.plots import draw

        self._per_class(run)
        draw(run, self, as_float)

    def _per_class(self, run: Run) -> None:
        rows = {}
        for split in ("val", "test"):
            table = run.results.get(split, {}).get(f"{split}/per_class")
            if table is not None and table.numel():
                rows[split] = {self.labels[int(c)] if 0 <= int(c) < len(self.labels) else str(int(c)): round(float(ap), 4)
                               for c, ap in zip(table[0].tolist(), table[1].tolist())}
        if rows:
            (run.dir / "per_class_ap.json").write_text(json.dumps(rows, indent=2) + "\n")

    def state_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.labels = list(state["labels"])

    def export_spec(self, model: torch.nn.Module, batch: Any) -> Any:
        from taskhub_detection.export import export_spec

        return export_spec(self, model, batch)

    def bundle_model(self, network: torch.nn.Module) -> torch.nn.Module:
        from taskhub_detection.export import bundle_model

        return bundle_model(self, network)

    def describe_data(self, data: Splits, samples: int = 16) -> DataDescription:  # for taskhub data check
        from taskhub_detection.data_check import describe

        return describe(self, data, samples)

