"""Pictures that several tasks draw (public API for plugins): confusion matrices, learning curves."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def _epoch_axis(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)


def _save(fig: Any, path: Path, dpi: int = 110) -> None:
    plt = _pyplot()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_confusion_matrix(path: Path, matrix: torch.Tensor, labels: list[str], title: str = "confusion matrix",
                          normalize: bool = False) -> None:
    """Counts (or, ``normalize=True``, each true class's row as fractions) with a colour bar."""
    plt = _pyplot()
    m = matrix.detach().cpu().double().numpy()
    if normalize:
        rows = m.sum(axis=1, keepdims=True)
        m = m / rows.clip(min=1)
    n = len(labels)
    size = min(4.5 + 0.45 * n, 16)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(m, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class" if normalize else "count")
    ax.set_xticks(range(n), labels, rotation=90 if n > 6 else 0)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title + (" (row-normalised)" if normalize else ""))
    if n <= 20:
        peak = m.max() if m.size else 0
        for i in range(n):
            for j in range(n):
                text = f"{m[i, j]:.2f}" if normalize else str(int(m[i, j]))
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if m[i, j] > peak / 2 else "black")
    fig.tight_layout()
    _save(fig, path)


def per_class_scores(matrix: torch.Tensor) -> dict[str, list[float]]:
    """Precision, recall and F1 of every class, from a confusion matrix (rows: true, columns: predicted)."""
    m = matrix.detach().cpu().double()
    tp = m.diag()
    precision = tp / m.sum(0).clamp_min(1e-12)
    recall = tp / m.sum(1).clamp_min(1e-12)
    f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-12)
    return {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist()}


def plot_per_class_scores(path: Path, matrix: torch.Tensor, labels: list[str], title: str = "per-class scores") -> None:
    """Bars of precision, recall and F1 per class (which classes the model gets wrong, at a glance)."""
    import numpy as np

    plt = _pyplot()
    scores = per_class_scores(matrix)
    n = len(labels)
    x = np.arange(n)
    fig, ax = plt.subplots(figsize=(min(4 + 0.6 * n, 18), 4.5))
    for i, (name, values) in enumerate(scores.items()):
        ax.bar(x + (i - 1) * 0.27, values, width=0.27, label=name)
    ax.set_xticks(x, labels, rotation=90 if n > 8 else 0)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_xlabel("class")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def curve_metrics(num_classes: int, thresholds: int = 50) -> dict[str, Any]:
    """torchmetrics for one-vs-rest ROC and precision-recall curves, binned so memory stays constant
    (add them to ``build_metrics``; :func:`plot_classification` draws them). Keys: ``roc``, ``pr_curve``."""
    from torchmetrics.classification import (BinaryPrecisionRecallCurve, BinaryROC, MulticlassPrecisionRecallCurve,
                                             MulticlassROC)

    if num_classes == 2:
        return {"roc": BinaryROC(thresholds=thresholds), "pr_curve": BinaryPrecisionRecallCurve(thresholds=thresholds)}
    return {"roc": MulticlassROC(num_classes=num_classes, thresholds=thresholds),
            "pr_curve": MulticlassPrecisionRecallCurve(num_classes=num_classes, thresholds=thresholds)}


def plot_curves(path: Path, curve: Any, labels: list[str], kind: str, title: str) -> None:
    """ROC (``kind="roc"``: x false-positive rate, y true-positive rate) or PR curves, one line per class,
    with the area under each in the legend. ``curve``: what the torchmetrics curve metric computed."""
    import numpy as np

    plt = _pyplot()
    first, second = curve[0], curve[1]
    if isinstance(first, torch.Tensor) and first.dim() == 1:  # binary: the positive class only
        first, second, names = first[None], second[None], [labels[-1] if labels else "positive"]
    else:
        names = labels
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    shown = min(len(names), 12)
    for i in range(shown):
        a, b = first[i].detach().cpu().double().numpy(), second[i].detach().cpu().double().numpy()
        x, y = (a, b) if kind == "roc" else (b, a)  # PR: torchmetrics gives (precision, recall)
        order = np.lexsort((y, x))  # by x, ties by y: binned curves have ties
        xs, ys = x[order], y[order]
        area = float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2))  # trapezoids
        ax.plot(x[order], y[order], label=f"{names[i]} ({'AUC' if kind == 'roc' else 'AP~'} {area:.3f})")
    if kind == "roc":
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel("false positive rate" if kind == "roc" else "recall")
    ax.set_ylabel("true positive rate" if kind == "roc" else "precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title + (f" (first {shown} of {len(names)} classes)" if shown < len(names) else ""))
    ax.legend(fontsize=8, loc="lower right" if kind == "roc" else "lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def plot_classification(run_dir: Path, results: dict[str, Any], split: str, labels: list[str], title: str) -> list[Path]:
    """Every classification plot a split's results allow: confusion matrix in counts and row-normalised,
    per-class precision/recall/F1, and one-vs-rest ROC and PR curves (when the task added
    :func:`curve_metrics`). Returns the files written."""
    run_dir = Path(run_dir)
    written: list[Path] = []
    matrix = results.get(f"{split}/confusion_matrix")
    if isinstance(matrix, torch.Tensor) and matrix.dim() == 2:
        for name, normalize in (("confusion_matrix.png", False), ("confusion_matrix_normalized.png", True)):
            plot_confusion_matrix(run_dir / name, matrix, labels, title=f"{title}: {split} confusion matrix",
                                  normalize=normalize)
            written.append(run_dir / name)
        plot_per_class_scores(run_dir / "per_class_scores.png", matrix, labels, title=f"{title}: {split} per-class scores")
        written.append(run_dir / "per_class_scores.png")
    for key, kind, name in (("roc", "roc", "roc_curves.png"), ("pr_curve", "pr", "pr_curves.png")):
        curve = results.get(f"{split}/{key}")
        if isinstance(curve, (tuple, list)) and len(curve) >= 2:
            plot_curves(run_dir / name, curve, labels, kind,
                        title=f"{title}: {split} {'ROC' if kind == 'roc' else 'precision-recall'} curves")
            written.append(run_dir / name)
    return written


def plot_predicted_vs_actual(path: Path, predicted: Any, actual: Any, title: str, unit: str = "") -> None:
    """Predicted against actual values with the identity line, beside a histogram of the residuals."""
    import numpy as np

    plt = _pyplot()
    p = np.asarray(predicted, dtype=float).ravel()
    a = np.asarray(actual, dtype=float).ravel()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8))
    left.scatter(a, p, s=8, alpha=0.5)
    low, high = float(np.nanmin([a.min(), p.min()])), float(np.nanmax([a.max(), p.max()]))
    left.plot([low, high], [low, high], color="tab:red", linewidth=1, label="predicted = actual")
    left.set_xlabel(f"actual{' (' + unit + ')' if unit else ''}")
    left.set_ylabel(f"predicted{' (' + unit + ')' if unit else ''}")
    left.legend()
    left.grid(alpha=0.3)
    residual = p - a
    right.hist(residual, bins=40, color="tab:purple", alpha=0.8)
    right.axvline(0, color="black", linewidth=1)
    right.set_xlabel("residual (predicted - actual)")
    right.set_ylabel("count")
    right.grid(alpha=0.3)
    fig.suptitle(f"{title}  (MAE {np.mean(np.abs(residual)):.4g}, n={len(a)})")
    fig.tight_layout()
    _save(fig, path)


def image_grid(path: Path, images: list[Any], captions: list[str], title: str, columns: int = 4,
               panel_inches: float = 2.6) -> None:
    """A grid of images (``[H, W]``, ``[H, W, C]`` or ``[C, H, W]`` arrays or tensors, any range) with
    a caption inside each panel's title: sample grids, most confidently wrong examples."""
    import numpy as np

    plt = _pyplot()
    n = max(len(images), 1)
    columns = min(columns, n)
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(panel_inches * columns, panel_inches * rows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions):
        x = image.detach().cpu().float().numpy() if isinstance(image, torch.Tensor) else np.asarray(image, dtype=float)
        if x.ndim == 3 and x.shape[0] in (1, 3) and x.shape[-1] not in (1, 3):
            x = x.transpose(1, 2, 0)
        if x.ndim == 3 and x.shape[-1] == 1:
            x = x[..., 0]
        low, high = float(x.min()), float(x.max())
        x = (x - low) / (high - low) if high > low else x * 0
        ax.imshow(x, cmap="gray" if x.ndim == 2 else None)
        ax.set_title(caption, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def markdown_table(path: Path, title: str, header: list[str], rows: list[list[Any]]) -> None:
    """A Markdown table (texts, utterances: what reads better as text than as a picture)."""
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ") or " "

    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def plot_learning_curves(path: Path, history: list[dict[str, Any]], monitor: str, title: str | None = None) -> None:
    """Loss, the monitored objective and the learning rate per epoch, titled with the run."""
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    extra = monitor if not monitor.endswith("loss") else None
    has_lr = any("lr" in row for row in history)
    panels = 1 + bool(extra) + has_lr
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.2), squeeze=False)
    ax = axes[0][0]
    for key in ("train/loss", "val/loss"):
        if any(key in row for row in history):
            ax.plot(epochs, [row.get(key, float("nan")) for row in history], marker="o", label=key)
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.legend()
    _epoch_axis(ax)
    column = 1
    if extra:
        ax = axes[0][column]
        ax.plot(epochs, [row.get(extra, float("nan")) for row in history], marker="o", color="tab:green")
        ax.set_ylabel(extra)
        ax.set_title(f"objective: {extra}")
        _epoch_axis(ax)
        column += 1
    if has_lr:
        ax = axes[0][column]
        lrs = [row.get("lr", float("nan")) for row in history]
        ax.plot(epochs, lrs, marker=".", color="tab:orange")
        positive = [v for v in lrs if v == v and v > 0]
        if positive and max(positive) / min(positive) > 20:
            ax.set_yscale("log")
        ax.set_ylabel("learning rate")
        ax.set_title("learning rate (end of epoch)")
        _epoch_axis(ax)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_histogram(path: Path, series: dict[str, list[float]], title: str, xlabel: str, bins: int = 30) -> None:
    """Overlaid histograms of one quantity per group (lengths or durations per split), with a legend."""
    import numpy as np

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    values = [v for vs in series.values() for v in vs]
    edges = np.histogram_bin_edges(values or [0.0], bins=bins)
    for name, vs in series.items():
        if vs:
            ax.hist(vs, bins=edges, alpha=0.55, label=f"{name} ({len(vs):,})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("examples")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if series:
        ax.legend()
    fig.tight_layout()
    _save(fig, path)


def plot_class_counts(path: Path, counts: dict[str, dict[str, int]], title: str, unit: str = "examples",
                      limit: int = 40) -> None:
    """Grouped bars: per class (the ``limit`` most frequent in the first group), a bar per split."""
    import numpy as np

    plt = _pyplot()
    first = next(iter(counts.values()), {})
    classes = sorted(set().union(*counts.values()), key=lambda c: -first.get(c, 0))[:limit]
    x = np.arange(len(classes))
    width = 0.8 / max(len(counts), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(classes) * max(len(counts), 1) + 2), 4.2))
    for k, (split, per_class) in enumerate(counts.items()):
        ax.bar(x + k * width - 0.4 + width / 2, [per_class.get(c, 0) for c in classes], width, label=split)
    ax.set_xticks(x, [str(c)[:18] for c in classes], rotation=45 if len(classes) > 6 else 0, ha="right" if len(classes) > 6 else "center")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(fig, path)


def image_grid_with_boxes(path: Path, images: list[Any], captions: list[str], boxes: list[list[list[float]]],
                          box_labels: list[list[str]], title: str, columns: int = 3, panel_inches: float = 4.0) -> None:
    """Like :func:`image_grid`, with boxes (``[x1, y1, x2, y2]`` in pixels) and their labels drawn
    on each image; panels are large enough to read the labels."""
    import zlib

    import numpy as np
    from matplotlib.patches import Rectangle

    plt = _pyplot()
    n = max(len(images), 1)
    columns = min(columns, n)
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(panel_inches * columns, panel_inches * rows + 0.6), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption, bxs, names in zip(axes.flat, images, captions, boxes, box_labels):
        x = image.detach().cpu().float().numpy() if isinstance(image, torch.Tensor) else np.asarray(image, dtype=float)
        if x.ndim == 3 and x.shape[0] in (1, 3) and x.shape[-1] not in (1, 3):
            x = x.transpose(1, 2, 0)
        if x.ndim == 3 and x.shape[-1] == 1:
            x = x[..., 0]
        low, high = float(x.min()), float(x.max())
        x = (x - low) / (high - low) if high > low else x * 0
        ax.imshow(x, cmap="gray" if x.ndim == 2 else None)
        for (x1, y1, x2, y2), name in zip(bxs, names):
            colour = colours(zlib.crc32(name.encode()) % 10)  # one colour per label, in every picture
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=2))
            ax.text(x1, y1, name, color="white", fontsize=8, va="bottom", bbox={"facecolor": colour, "pad": 1, "lw": 0})
        ax.set_title(caption, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_spectrograms(path: Path, waves: list[Any], sample_rate: int | list[int], captions: list[str], title: str) -> None:
    """Log-magnitude spectrograms (time in seconds, frequency in Hz) of a few clips, each with a colour
    bar. A 2-D input is taken as features already computed, (frames, bins) at ``sample_rate`` frames per second."""
    import numpy as np

    plt = _pyplot()
    n = max(len(waves), 1)
    rates = sample_rate if isinstance(sample_rate, list) else [sample_rate] * n
    fig, axes = plt.subplots(n, 1, figsize=(8, 2.4 * n + 0.6), squeeze=False)
    for ax, wave, rate, caption in zip(axes[:, 0], waves, rates, captions):
        w = torch.as_tensor(wave, dtype=torch.float32)
        if w.dim() == 2:  # already features, (frames, bins) at ``rate`` frames per second: drawn as they are
            im = ax.imshow(w.T.numpy(), origin="lower", aspect="auto", cmap="magma",
                           extent=(0.0, w.shape[0] / rate, 0, w.shape[1]))
            fig.colorbar(im, ax=ax, label="feature value")
            ax.set_ylabel("feature bin")
        else:
            w = w.reshape(-1)
            n_fft = 400 if rate >= 8000 else 128
            spec = torch.stft(w, n_fft=n_fft, hop_length=n_fft // 4, window=torch.hann_window(n_fft),
                              return_complex=True).abs().clamp_min(1e-6).log10().mul(20).numpy() \
                if len(w) >= n_fft else np.zeros((1, 1))
            im = ax.imshow(spec, origin="lower", aspect="auto", extent=(0.0, len(w) / rate, 0.0, rate / 2), cmap="magma")
            fig.colorbar(im, ax=ax, label="dB")
            ax.set_ylabel("Hz")
        ax.set_xlabel("seconds")
        ax.set_title(caption[:90], fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
