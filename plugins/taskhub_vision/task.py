"""Image classification: the Task that ties vision models, datasets and metrics to the engine."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

from taskhub import Data, Run, Task, UserError
from taskhub.data import dataset_kwargs, expand_paths
from taskhub_vision.datasets import IMAGE_SUFFIXES, VisionData, read_image


class VisionTask(Task):
    """Classify images into named classes; reports accuracy, macro F1 and a confusion matrix."""

    name = "vision"
    objective = ("val/accuracy", "max")
    metrics = ("accuracy", "f1_macro", "confusion_matrix")

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__(cfg)
        self.labels: list[str] = []
        self.channels = 3
        self.image_size: tuple[int, int] = (32, 32)
        self.mean: list[float] = [0.5]
        self.std: list[float] = [0.25]

    # --- building -------------------------------------------------------------------------
    def build_data(self, stage: str) -> Data:
        kwargs = dataset_kwargs(self.cfg.dataset)
        augment = kwargs.pop("augment", None)
        builder = OmegaConf.create({"_target_": self.cfg.dataset._target_})
        data: VisionData = instantiate(builder, **kwargs)
        if stage == "fit" and not self.labels:
            self.labels, self.channels, self.image_size = list(data.labels), data.channels, tuple(data.image_size)
            self.mean, self.std = list(data.mean), list(data.std)
        elif data.labels != self.labels:
            self._check_labels(data.labels)
        train = data.train
        if augment and train is not None:
            train.transform = _augmentation(augment)
        return Data(train=train, val=data.val, test=data.test)

    def _check_labels(self, labels: list[str]) -> None:
        # Evaluating on another dataset: labels must be the trained ones, in the same order.
        if labels != self.labels:
            raise UserError(f"dataset classes {labels[:10]} differ from the checkpoint's {self.labels[:10]}; "
                            f"evaluate on data with the same class names")

    def build_model(self) -> torch.nn.Module:
        return instantiate(self.cfg.model, in_channels=self.channels, image_size=list(self.image_size),
                           num_classes=len(self.labels))

    def build_metrics(self) -> MetricCollection:
        n = len(self.labels)
        return MetricCollection({
            "accuracy": MulticlassAccuracy(num_classes=n, average="micro"),
            "f1_macro": MulticlassF1Score(num_classes=n, average="macro"),
            "confusion_matrix": MulticlassConfusionMatrix(num_classes=n),
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
        items = list(_as_images(inputs))
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            images = torch.stack([_to_tensor(x, self.channels, self.image_size) for _, x in chunk]).to(device)
            probs = model(self._normalize(images)).float().softmax(-1)
            top = probs.topk(k, dim=-1)
            for (name, _), p, i in zip(chunk, top.values.tolist(), top.indices.tolist()):
                yield {"input": name, "label": self.labels[i[0]],
                       "topk": [{"label": self.labels[j], "probability": round(q, 6)} for j, q in zip(i, p)]}

    # --- artefacts and state --------------------------------------------------------------
    def plots(self, run: Run) -> None:
        for split in ("test", "val"):
            matrix = run.results.get(split, {}).get(f"{split}/confusion_matrix")
            if matrix is not None:
                from taskhub.plots import plot_confusion_matrix

                plot_confusion_matrix(run.dir / "confusion_matrix.png", matrix, self.labels, title=f"{split} confusion matrix")
                return

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


def _augmentation(specs: list[dict]) -> Any:
    """A per-sample transform applying torchvision.transforms.v2 ops (from config) to the image."""
    from torchvision.transforms import v2

    pipeline = v2.Compose([instantiate(OmegaConf.create(s)) for s in specs])

    def transform(item: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {**item, "image": pipeline(item["image"])}

    return transform


def _as_images(inputs: Sequence[Any]) -> Iterable[tuple[str, Any]]:
    """(name, image) pairs from paths, directories, globs, arrays or tensors."""
    import numpy as np

    paths = [x for x in inputs if isinstance(x, (str, Path))]
    others = [x for x in inputs if not isinstance(x, (str, Path))]
    for p in expand_paths(paths, IMAGE_SUFFIXES) if paths else []:
        yield str(p), p
    for i, x in enumerate(others):
        yield f"array[{i}]", torch.as_tensor(np.asarray(x))


def _to_tensor(x: Any, channels: int, size: tuple[int, int]) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        return read_image(x, channels, size)
    t = x if x.dim() == 3 else x.unsqueeze(0)
    if t.shape[0] not in (1, 3) and t.shape[-1] in (1, 3):
        t = t.permute(2, 0, 1)
    if t.dtype.is_floating_point and t.max() <= 1.0:
        t = (t * 255).round()
    t = t.to(torch.uint8)
    if t.shape[0] != channels:
        t = t.float().mean(0, keepdim=True).to(torch.uint8) if channels == 1 else t.expand(3, -1, -1)
    if tuple(t.shape[-2:]) != tuple(size):
        t = F.interpolate(t[None].float(), size=size, mode="bilinear", align_corners=False)[0].round().to(torch.uint8)
    return t
