"""Image classification: the Task that ties vision models, datasets and metrics to the engine."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from taskhub import Run, Task, UserError
from taskhub.data import DataDescription, Splits, build_splits
from taskhub_vision.plots import classification_curves
from taskhub_vision.predict_inputs import as_images, to_tensor

#: dataset settings the task reads itself (the builder never sees them)
TASK_KEYS = ("augment", "mean", "std")

if TYPE_CHECKING:
    from torchmetrics import MetricCollection  # imported by build_metrics: not needed before validation


def without(node: DictConfig, keys: Sequence[str]) -> DictConfig:
    """``node`` (interpolations resolved) without the settings in ``keys``."""
    plain = OmegaConf.to_container(node, resolve=True)
    return OmegaConf.create({k: v for k, v in plain.items() if k not in keys})


class VisionTask(Task):
    """Classify images into named classes; reports accuracy, macro F1 and a confusion matrix."""

    name = "vision"
    objective = ("val/accuracy", "max")
    dataset_keys = TASK_KEYS
    metrics = ("accuracy", "f1_macro", "confusion_matrix")

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__(cfg)
        self.labels: list[str] = []
        self.channels = 3
        self.image_size: tuple[int, int] = (32, 32)
        self.mean: list[float] = [0.5]
        self.std: list[float] = [0.25]

    # --- building -------------------------------------------------------------------------
    def build_data(self, stage: str) -> Splits:
        self._resolve_image_settings()
        data = build_splits(without(self.cfg.dataset, TASK_KEYS))
        labels = list(data.info["labels"])
        if stage == "fit" and not self.labels:
            self.labels, self.channels = labels, int(data.info["channels"])
            self.image_size = tuple(int(v) for v in data.info["image_size"])
        elif labels != self.labels:
            self._check_labels(labels)
        if stage == "fit" and data.train is not None:
            self._resolve_normalisation(data.train)
        augment = self.cfg.dataset.get("augment")
        if augment and data.train is not None:
            data.train.transform = _augmentation(augment)
        return data

    def _resolve_image_settings(self) -> None:
        """``image_size`` and ``grayscale: auto`` from the training files' headers (before
        decoding, which resizes to that size)."""
        from taskhub_vision import auto
        from taskhub_vision.datasets import survey

        dataset, rules = self.cfg.dataset, self.cfg.task.get("auto") or {}
        found: dict[str, Any] = {}

        def surveyed() -> dict[str, Any]:
            if not found and str(dataset.get("_target_")).endswith("image_csv.image_csv"):
                from taskhub_vision.image_csv import survey_csv  # (a CSV lists its images: no folder scan)

                found.update(survey_csv(dataset))
            if not found:
                found.update(survey(dataset.get("root"), int(dataset.get("seed") or 0)))
            return found

        if "image_size" in dataset:
            self.resolve_auto("dataset.image_size", lambda: auto.image_size(
                surveyed(), int(rules.get("max_image_size", 224)), int(rules.get("size_multiple", 16))))
        if "grayscale" in dataset:
            self.resolve_auto("dataset.grayscale", lambda: auto.grayscale(surveyed()))

    def _resolve_normalisation(self, train: Any) -> None:
        """``mean`` and ``std: auto``: what the model's pretrained weights expect (ImageNet's for
        torchvision's), else the training pixels' own statistics; null: 0.5 and 0.25."""
        from taskhub_vision import auto

        stats: list[Any] = []

        def chosen(which: int) -> tuple[list[float], str]:
            if not stats:
                pretrained = self._pretrained_normalisation()
                if pretrained is not None:
                    stats.extend(auto.for_channels(*pretrained, self.channels))
                else:
                    mean, std, what = auto.mean_std(train, self.channels, int(self.cfg.get("seed") or 0))
                    stats.extend([mean, std, f"per channel, over {what}"])
            return stats[which], stats[2]

        mean = self.resolve_auto("dataset.mean", lambda: chosen(0)) if "mean" in self.cfg.dataset else None
        std = self.resolve_auto("dataset.std", lambda: chosen(1)) if "std" in self.cfg.dataset else None
        self.mean = auto.per_channel(0.5 if mean is None else mean, self.channels, "dataset.mean")
        self.std = auto.per_channel(0.25 if std is None else std, self.channels, "dataset.std")

    def _pretrained_normalisation(self) -> tuple[list[float], list[float], str] | None:
        """(mean, std, reason) the model's pretrained weights expect, when its class says
        (a ``pretrained_normalisation(settings)`` static method, as TorchvisionClassifier's)."""
        from hydra.utils import get_class

        if not self.cfg.model.get("weights"):
            return None
        try:
            model_class = get_class(str(self.cfg.model.get("_target_")))
        except Exception:  # instantiating the model reports a bad _target_ in its own words
            return None
        rule = getattr(model_class, "pretrained_normalisation", None)
        return rule(self.cfg.model) if callable(rule) else None

    def _check_labels(self, labels: list[str]) -> None:
        # Evaluating on another dataset: labels must be the trained ones, in the same order.
        if labels != self.labels:
            raise UserError(f"dataset classes {labels[:10]} differ from the checkpoint's {self.labels[:10]}; "
                            f"evaluate on data with the same class names")

    def build_model(self) -> torch.nn.Module:
        from taskhub_vision import auto

        if self.cfg.get("optimizer") and "lr" in self.cfg.optimizer:  # lr: auto (model=torchvision's optimizer)
            self.resolve_auto("optimizer.lr", lambda: auto.learning_rate(self.cfg.model.get("weights")))
        return instantiate(self.cfg.model, in_channels=self.channels, image_size=list(self.image_size),
                           num_classes=len(self.labels))

    def build_metrics(self) -> MetricCollection:
        from torchmetrics import MetricCollection
        from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

        n = len(self.labels)
        return MetricCollection({
            "accuracy": MulticlassAccuracy(num_classes=n, average="micro"),
            "f1_macro": MulticlassF1Score(num_classes=n, average="macro"),
            "confusion_matrix": MulticlassConfusionMatrix(num_classes=n),
            **classification_curves(n),  # ROC and PR curves for the run directory's plots
        })

    # --- steps ----------------------------------------------------------------------------
    def _normalize(self, images: torch.Tensor) -> torch.Tensor:
        # Whole batches on the device: cheaper than per-sample transforms in workers.
        mean = torch.tensor(self.mean, device=images.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=images.device).view(1, -1, 1, 1)
        return (images.float() / 255.0 - mean) / std

    def training_step(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        logits = model(self._normalize(batch["image"]))
        return F.cross_entropy(logits, batch["label"], label_smoothing=float(self.cfg.task.get("label_smoothing", 0.0)))

    def evaluation_step(self, model: torch.nn.Module, batch: Any, metrics: MetricCollection) -> torch.Tensor:
        logits = model(self._normalize(batch["image"]))
        metrics.update(logits, batch["label"])
        return F.cross_entropy(logits, batch["label"])

    def predict(self, model: torch.nn.Module, inputs: Sequence[Any]) -> Iterable[dict[str, Any]]:
        k = min(int(self.cfg.task.get("topk", 5)), len(self.labels))
        device = next(model.parameters()).device
        batch_size = int(self.cfg.dataset.get("eval_batch_size") or self.cfg.dataset.get("batch_size", 64))
        items = list(as_images(inputs))
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            images = torch.stack([to_tensor(x, self.channels, self.image_size) for _, x in chunk]).to(device)
            probs = model(self._normalize(images)).float().softmax(-1)
            top = probs.topk(k, dim=-1)
            for (name, _), p, i in zip(chunk, top.values.tolist(), top.indices.tolist()):
                yield {"input": name, "label": self.labels[i[0]],
                       "topk": [{"label": self.labels[j], "probability": round(q, 6)} for j, q in zip(i, p)]}

    # --- artefacts and state --------------------------------------------------------------
    def plots(self, run: Run) -> None:
        """Confusion matrices, per-class scores, ROC and PR curves, and the most confidently wrong
        test images (validation when there is no test split)."""
        from taskhub_vision.plots import draw

        draw(run, self)

    def state_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "channels": self.channels, "image_size": list(self.image_size),
                "mean": self.mean, "std": self.std}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.labels, self.channels = list(state["labels"]), int(state["channels"])
        self.image_size = tuple(state["image_size"])
        self.mean, self.std = list(state["mean"]), list(state["std"])

    def export_spec(self, model: torch.nn.Module, batch: Any) -> Any:
        from taskhub_vision.export import export_spec

        return export_spec(self, model, batch)

    def describe_data(self, data: Splits, samples: int = 16) -> DataDescription:  # for taskhub data check
        from taskhub_vision.data_check import describe

        return describe(self, data, samples)


def _augmentation(specs: list[dict]) -> Any:
    """A per-sample transform applying torchvision.transforms.v2 ops (from config) to the image."""
    from torchvision.transforms import v2

    pipeline = v2.Compose([instantiate(OmegaConf.create(s)) for s in specs])

    def transform(item: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {**item, "image": pipeline(item["image"])}

    return transform

