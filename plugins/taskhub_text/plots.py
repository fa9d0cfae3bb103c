"""Text's run-directory artefacts: the classification plots and a Markdown table of the test texts the
model got most confidently wrong (texts read better as a table than as a picture)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Subset

from taskhub import Run
from taskhub.plots import markdown_table, plot_classification

#: at most this many texts are scored for the error table (a bounded cost at the end of a run)
MAX_SCORED = 2000
#: rows in the error table
MAX_SHOWN = 20
#: characters of each text shown
MAX_CHARS = 300


def run_title(run: Run, task: Any) -> str:
    """``task / model / dataset``: the title every picture of the run carries."""
    return f"{task.name} / {run.choices.get('model') or task.model_name()} / {run.choices.get('dataset', '')}".rstrip(" /")


def classification_curves(num_classes: int) -> dict[str, Any]:
    """:func:`taskhub.plots.curve_metrics`, one-vs-rest for two classes too: the model gives a score
    per class (logits), which the binary curve metrics do not take."""
    from taskhub.plots import curve_metrics

    if num_classes > 2:
        return curve_metrics(num_classes)
    from torchmetrics.classification import MulticlassPrecisionRecallCurve, MulticlassROC

    return {"roc": MulticlassROC(num_classes=num_classes, thresholds=50),
            "pr_curve": MulticlassPrecisionRecallCurve(num_classes=num_classes, thresholds=50)}


def confident_errors(run: Run, task: Any, dataset: Any, limit: int = MAX_SCORED) -> list[tuple[float, int, int, int]]:
    """``(probability, index, true, predicted)`` of every wrong prediction among the first ``limit``
    texts of ``dataset``, most confident first."""
    subset = Subset(dataset, range(min(len(dataset), limit)))
    batch_size = int(task.cfg.dataset.get("eval_batch_size") or task.cfg.dataset.get("batch_size") or 64)
    loader = DataLoader(subset, batch_size=batch_size, shuffle=False, collate_fn=run.data.collate)
    model = run.model.eval()
    wrong: list[tuple[float, int, int, int]] = []
    seen = 0
    with torch.inference_mode():
        for batch in loader:
            logits = model(batch["input_ids"].to(run.device), batch["lengths"].to(run.device))
            confidence, predicted = logits.float().softmax(-1).cpu().max(-1)
            labels = batch["label"]
            for k in (predicted != labels).nonzero().flatten().tolist():
                wrong.append((float(confidence[k]), seen + k, int(labels[k]), int(predicted[k])))
            seen += len(labels)
    return sorted(wrong, reverse=True)


def write_confident_errors(run: Run, task: Any, split: str, title: str) -> Path | None:
    """``most_confident_errors.md``: the texts (decoded from their token ids, as the model saw them),
    true and predicted labels and the predicted probability. Written (with a line saying so) even
    when the model made no error, so a reader knows it was checked."""
    dataset = getattr(run.data, split, None) if run.data is not None else None
    if dataset is None or len(dataset) == 0 or task.tokenizer is None:
        return None
    scored = min(len(dataset), MAX_SCORED)
    errors = confident_errors(run, task, dataset)
    rows = []
    for q, i, t, p in errors[:MAX_SHOWN]:
        text = task.tokenizer.decode(dataset.ids[i].tolist()).strip()
        text = text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 3] + "..."
        rows.append([len(rows) + 1, text, task.labels[t], task.labels[p], f"{q:.3f}"])
    path = Path(run.dir) / "most_confident_errors.md"
    markdown_table(path, f"{title}: most confidently wrong {split} texts "
                   f"({len(errors)} wrong of the first {scored}; {len(rows)} shown)",
                   ["#", "text", "true", "predicted", "probability"], rows)
    return path


def draw(run: Run, task: Any) -> None:
    """Every text plot for the run: on the test split when there is one, else validation."""
    split = "test" if run.results.get("test") else "val"
    title = run_title(run, task)
    plot_classification(Path(run.dir), run.results.get(split, {}), split, list(task.labels), title)
    write_confident_errors(run, task, split, title)
