"""Vision's run-directory pictures: the classification plots and the test images the model got most
confidently wrong (what a person looks at first to see why a classifier fails)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Subset

from taskhub import Run
from taskhub.plots import image_grid, plot_classification

#: at most this many test images are scored for the error grid (a bounded cost at the end of a run)
MAX_SCORED = 2000
#: panels in the error grid
MAX_SHOWN = 16


def run_title(run: Run, task_name: str, model_name: str) -> str:
    """``task / model / dataset``: the title every picture of the run carries."""
    return f"{task_name} / {run.choices.get('model') or model_name} / {run.choices.get('dataset', '')}".rstrip(" /")


def confident_errors(run: Run, task: Any, dataset: Any, limit: int = MAX_SCORED) -> list[tuple[float, int, int, int]]:
    """``(probability, index, true, predicted)`` of every wrong prediction among the first ``limit``
    items of ``dataset``, most confident first."""
    subset = Subset(dataset, range(min(len(dataset), limit)))
    collate = run.data.collate if run.data is not None else None
    batch_size = int(task.cfg.dataset.get("eval_batch_size") or task.cfg.dataset.get("batch_size") or 64)
    loader = DataLoader(subset, batch_size=batch_size, shuffle=False, collate_fn=collate)
    model = run.model.eval()
    wrong: list[tuple[float, int, int, int]] = []
    seen = 0
    with torch.inference_mode():
        for batch in loader:
            images, labels = batch["image"].to(run.device), batch["label"]
            probs = model(task._normalize(images)).float().softmax(-1).cpu()
            confidence, predicted = probs.max(-1)
            for k in (predicted != labels).nonzero().flatten().tolist():
                wrong.append((float(confidence[k]), seen + k, int(labels[k]), int(predicted[k])))
            seen += len(labels)
    return sorted(wrong, reverse=True)


def plot_confident_errors(run: Run, task: Any, split: str, title: str) -> Path | None:
    """``most_confident_errors.png``: up to 16 images captioned ``true X / predicted Y (p=0.97)``."""
    dataset = getattr(run.data, split, None) if run.data is not None else None
    if dataset is None or len(dataset) == 0:
        return None
    errors = confident_errors(run, task, dataset)[:MAX_SHOWN]
    if not errors:
        return None
    images = [dataset[i]["image"] for _, i, _, _ in errors]
    captions = [f"true {task.labels[t]} /\npredicted {task.labels[p]} (p={q:.2f})" for q, _, t, p in errors]
    path = run.dir / "most_confident_errors.png"
    image_grid(path, images, captions, f"{title}: most confidently wrong {split} images "
               f"({len(errors)} shown, of the first {min(len(dataset), MAX_SCORED)})")
    return path


def draw(run: Run, task: Any) -> None:
    """Every vision picture for the run: on the test split when there is one, else validation."""
    split = "test" if run.results.get("test") else "val"
    title = run_title(run, task.name, task.model_name())
    plot_classification(run.dir, run.results.get(split, {}), split, list(task.labels), title)
    plot_confident_errors(run, task, split, title)


def classification_curves(num_classes: int) -> dict[str, Any]:
    """:func:`taskhub.plots.curve_metrics`, one-vs-rest for two classes too: the model gives a score
    per class (logits), which the binary curve metrics do not take."""
    from taskhub.plots import curve_metrics

    if num_classes > 2:
        return curve_metrics(num_classes)
    from torchmetrics.classification import MulticlassPrecisionRecallCurve, MulticlassROC

    return {"roc": MulticlassROC(num_classes=num_classes, thresholds=50),
            "pr_curve": MulticlassPrecisionRecallCurve(num_classes=num_classes, thresholds=50)}
