"""Detection's run-directory pictures, as a detection user expects them (Ultralytics' PR curves and
labelled batches): precision-recall per class at IoU 0.5, validation images with predicted and true
boxes large enough to read, and how many boxes each class has in each split."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from taskhub import Run
from taskhub.plots import plot_class_counts

#: each panel of the box pictures is at least this many pixels on its shorter side
PANEL_PIXELS = 560
DPI = 110
PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
           "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def run_title(run: Run, task: Any) -> str:
    """``task / model / dataset``: the title every picture of the run carries."""
    return f"{task.name} / {run.choices.get('model') or task.model_name()} / {run.choices.get('dataset', '')}".rstrip(" /")


def _name(labels: list[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else str(index)


def _boxes(n: int) -> str:
    return f"{n} box" if n == 1 else f"{n} boxes"


def plot_pr_curves(path: Path, results: dict[str, Any], split: str, labels: list[str], title: str) -> Path | None:
    """One precision-recall line per class at IoU 0.5 (from ``DetectionMAP``'s ``pr_50``), with the
    class's AP@0.5 in the legend; classes without a true box in the split are left out."""
    import numpy as np

    precision, table = results.get(f"{split}/pr_50"), results.get(f"{split}/per_class")
    if not isinstance(precision, torch.Tensor) or not isinstance(table, torch.Tensor) or not precision.numel() \
            or precision.shape[0] != table.shape[1]:
        return None
    plt = _pyplot()
    recall = np.linspace(0, 1, precision.shape[1])
    fig, ax = plt.subplots(figsize=(7, 5.5))
    drawn = []
    for row, cls in zip(precision.double().numpy(), table[0].tolist()):
        if (row < 0).all():  # no true box of this class here
            continue
        row = np.where(row < 0, 0.0, row)
        drawn.append(row)
        ax.plot(recall, row, linewidth=1.8, color=PALETTE[int(cls) % len(PALETTE)],
                label=f"{_name(labels, int(cls))} (AP@0.5 {row.mean():.3f})")
    if not drawn:
        plt.close(fig)
        return None
    ax.plot(recall, np.mean(drawn, axis=0), color="black", linewidth=2.5, linestyle="--",
            label=f"all classes (mAP@0.5 {np.mean(drawn):.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{title}: {split} precision-recall at IoU 0.5")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _panel(ax: Any, image: torch.Tensor, boxes: torch.Tensor, classes: list[int], labels: list[str],
           caption: str, scores: list[float] | None = None) -> None:
    """``image`` (uint8 C, H, W) with its boxes and a caption, all drawn inside the axes."""
    from matplotlib.patches import Rectangle

    picture = image.cpu()
    picture = picture.expand(3, -1, -1) if picture.shape[0] == 1 else picture
    ax.imshow(picture.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    for k, ((x1, y1, x2, y2), cls) in enumerate(zip(boxes.tolist(), classes)):
        colour = PALETTE[int(cls) % len(PALETTE)]
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=2.5))
        text = _name(labels, int(cls)) + (f" {scores[k]:.2f}" if scores is not None else "")
        ax.text(x1, y1, text, fontsize=11, color="black", va="top", ha="left", clip_on=True,
                bbox={"facecolor": colour, "alpha": 0.85, "pad": 1.5, "linewidth": 0})
    ax.text(0.01, 0.99, caption, transform=ax.transAxes, fontsize=12, va="top", ha="left", color="white",
            bbox={"facecolor": "black", "alpha": 0.7, "pad": 3, "linewidth": 0})


@torch.inference_mode()
def plot_val_boxes(run: Run, task: Any, title: str, count: int, threshold: float,
                   as_float: Any) -> Path | None:
    """``val_boxes.png``: one row per validation image, its predicted boxes (with scores) beside the
    true ones, each panel at least :data:`PANEL_PIXELS` pixels, captions inside the picture."""
    dataset = run.data.val if run.data is not None else None
    count = min(count, len(dataset)) if dataset is not None else 0
    if not count:
        return None
    plt = _pyplot()
    model = run.model.eval()
    side = PANEL_PIXELS / DPI
    fig, axes = plt.subplots(count, 2, figsize=(2 * side, count * side + 0.5), squeeze=False)
    for i in range(count):
        image, target = dataset.load(i)
        pred = model(as_float([image.to(run.device)]))[0]
        keep = pred["scores"] >= threshold
        _panel(axes[i][0], image, pred["boxes"][keep].cpu(), pred["labels"][keep].tolist(), task.labels,
               f"val #{i} predicted: {_boxes(int(keep.sum()))} (score >= {threshold:g})", pred["scores"][keep].tolist())
        _panel(axes[i][1], image, target["boxes"].cpu(), target["labels"].tolist(), task.labels,
               f"val #{i} true: {_boxes(len(target['boxes']))}")
    fig.suptitle(f"{title}: validation boxes, predicted (left) and true (right)", fontsize=13)
    fig.tight_layout()
    path = Path(run.dir) / "val_boxes.png"
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def box_counts(dataset: Any, labels: list[str]) -> dict[str, int]:
    """Boxes per class name in ``dataset`` (its targets, without loading the images)."""
    counts = dict.fromkeys(labels, 0)
    targets = getattr(dataset, "targets", None)
    if targets is None:
        targets = [dataset.load(i)[1] for i in range(len(dataset))]
    for target in targets:
        for cls in target["labels"].reshape(-1).tolist():
            name = _name(labels, int(cls))
            counts[name] = counts.get(name, 0) + 1
    return counts


def plot_label_distribution(run: Run, task: Any, title: str) -> Path | None:
    """``label_distribution.png``: boxes per class, a bar per split (train/val/test)."""
    if run.data is None:
        return None
    counts = {split: box_counts(dataset, task.labels) for split in ("train", "val", "test")
              if (dataset := getattr(run.data, split, None)) is not None and len(dataset)}
    if not counts:
        return None
    path = Path(run.dir) / "label_distribution.png"
    totals = ", ".join(f"{split} {sum(c.values()):,}" for split, c in counts.items())
    plot_class_counts(path, counts, f"{title}: boxes per class\n({totals})", unit="boxes")
    return path


def draw(run: Run, task: Any, as_float: Any) -> None:
    """Every detection picture for the run (PR curves on the test split when there is one)."""
    title = run_title(run, task)
    split = "test" if run.results.get("test") else "val"
    plot_pr_curves(Path(run.dir) / "pr_curves.png", run.results.get(split, {}), split, list(task.labels), title)
    plot_val_boxes(run, task, title, int(task.cfg.task.get("plot_images", 4)),
                   float(task.cfg.task.get("score_threshold", 0.3)), as_float)
    plot_label_distribution(run, task, title)
