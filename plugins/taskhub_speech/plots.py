"""Run-directory artefacts: the worst-recognized utterances with their word alignment, CER and WER
by utterance length, and one spectrogram with its transcripts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

#: at most this many length bins in error_by_length.png
LENGTH_BINS = 6


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "(empty)"


def run_title(run: Any, task: Any) -> str:
    """``task / model / dataset``: the title every picture of the run carries."""
    return f"{task.name} / {run.choices.get('model') or task.model_name()} / {run.choices.get('dataset', '')}".rstrip(" /")


def align(reference: list[str], hypothesis: list[str]) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    """A minimal Levenshtein alignment of two word sequences: ``(op, ref word, hyp word)`` with op
    ``=`` (match), ``S`` (substitution), ``D`` (deletion: a reference word missing) or ``I``
    (insertion: an extra hypothesis word), and the counts of S, D and I (which sum to the edit distance)."""
    n, m = len(reference), len(hypothesis)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = reference[i - 1] == hypothesis[j - 1]
            cost[i][j] = min(cost[i - 1][j - 1] + (not same), cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    ops: list[tuple[str, str, str]] = []
    i, j = n, m
    while i or j:  # walk back, preferring match/substitution, then deletion, then insertion
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            ops.append(("=" if reference[i - 1] == hypothesis[j - 1] else "S", reference[i - 1], hypothesis[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            ops.append(("D", reference[i - 1], ""))
            i -= 1
        else:
            ops.append(("I", "", hypothesis[j - 1]))
            j -= 1
    ops.reverse()
    counts = {op: sum(1 for o, _, _ in ops if o == op) for op in ("S", "D", "I")}
    return ops, counts


def render_alignment(ops: list[tuple[str, str, str]]) -> str:
    """Matches as they are, ``[ref→hyp]`` substitutions, ``(-ref)`` deletions, ``(+hyp)`` insertions."""
    shown = {"=": lambda r, h: r, "S": lambda r, h: f"[{r}→{h}]", "D": lambda r, h: f"(-{r})",
             "I": lambda r, h: f"(+{h})"}
    return " ".join(shown[op](r, h) for op, r, h in ops)


def write_worst(path: Path, rows: list[dict[str, Any]], count: int, split: str, title: str = "") -> None:
    """A markdown table of the ``count`` utterances with the highest CER (rows come worst first), each
    with its word alignment and the substitutions (S), deletions (D) and insertions (I) counted."""
    shown = rows[:count]
    aligned = [align(r["reference"].split(), r["hypothesis"].split()) for r in shown]
    totals = {op: sum(c[op] for _, c in aligned) for op in ("S", "D", "I")}
    lines = [f"# {title + ': ' if title else ''}worst-recognized {split} utterances ({len(shown)} of {len(rows)})", "",
             f"Word errors in these rows: {totals['S']} substitutions, {totals['D']} deletions, "
             f"{totals['I']} insertions. Alignment: `[ref→hyp]` substituted, `(-ref)` deleted, `(+hyp)` inserted.", "",
             "| rank | id | CER | WER | reference | hypothesis | S | D | I | alignment |",
             "|---:|---|---:|---:|---|---|---:|---:|---:|---|"]
    for rank, (r, (ops, c)) in enumerate(zip(shown, aligned), start=1):
        lines.append(f"| {rank} | {r['id']} | {r['cer']:.3f} | {r['wer']:.3f} | {_cell(r['reference'])} | "
                     f"{_cell(r['hypothesis'])} | {c['S']} | {c['D']} | {c['I']} | {_cell(render_alignment(ops))} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def plot_error_by_length(path: Path, rows: list[dict[str, Any]], split: str, title: str) -> Path | None:
    """CER and WER (over each bin's words and characters, as the corpus scores are) per bin of
    reference length in words, with the number of utterances in each bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if not rows:
        return None
    words = np.array([max(len(r["reference"].split()), 1) for r in rows])
    chars = np.array([max(len(r["reference"]), 1) for r in rows])
    cer = np.array([r["cer"] for r in rows]) * chars
    wer = np.array([r["wer"] for r in rows]) * words
    edges = np.unique(np.quantile(words, np.linspace(0, 1, LENGTH_BINS + 1)).round())
    if len(edges) < 2:
        edges = np.array([words.min(), words.min() + 1])
    which = np.clip(np.searchsorted(edges, words, side="right") - 1, 0, len(edges) - 2)
    names, cers, wers, counts = [], [], [], []
    for b in range(len(edges) - 1):
        inside = which == b
        if not inside.any():
            continue
        low, high = int(words[inside].min()), int(words[inside].max())
        names.append(str(low) if low == high else f"{low}-{high}")
        cers.append(cer[inside].sum() / chars[inside].sum())
        wers.append(wer[inside].sum() / words[inside].sum())
        counts.append(int(inside.sum()))
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6.5, 1.1 * len(names) + 3), 4.5))
    ax.bar(x - 0.2, cers, 0.4, label="CER")
    ax.bar(x + 0.2, wers, 0.4, label="WER")
    top = max(max(cers), max(wers), 0.05)
    for k, n in enumerate(counts):
        ax.text(k, max(cers[k], wers[k]) + top * 0.02, f"n={n}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_xlabel("reference length (words)")
    ax.set_ylabel("error rate")
    ax.set_ylim(0, top * 1.15)
    ax.set_title(f"{title}: {split} CER and WER by utterance length")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@torch.inference_mode()
def plot_spectrogram(path: Path, example, model: torch.nn.Module, task, row: dict[str, Any], title: str = "") -> None:
    """The utterance's input features above the model's CTC posteriors, titled with reference and hypothesis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    device = next(model.parameters()).device
    model.eval()
    x = example.features.unsqueeze(0).to(device)
    log_probs, lengths = model(x, torch.tensor([example.frames], device=device))
    post = log_probs[0, : int(lengths[0])].float().exp().cpu().T.numpy()
    feats = example.features.T.numpy()
    fig, axes = plt.subplots(2, 1, figsize=(10, 6), constrained_layout=True)
    if feats.shape[0] > 1:
        image = axes[0].imshow(feats, origin="lower", aspect="auto", cmap="magma")
        fig.colorbar(image, ax=axes[0], label="feature value")
        axes[0].set_ylabel("feature bin")
        axes[0].set_xlabel("input frame")
    else:
        axes[0].plot(feats[0], linewidth=0.3)
        axes[0].set_ylabel("waveform")
        axes[0].set_xlabel("sample")
    axes[0].set_title(f"{row['id']}  (CER {row['cer']:.2f})\nref: {row['reference'][:90]}\nhyp: {row['hypothesis'][:90]}",
                      fontsize=9, loc="left")
    posteriors = axes[1].imshow(post, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest",
                                vmin=0, vmax=1)
    fig.colorbar(posteriors, ax=axes[1], label="probability")
    if title:
        fig.suptitle(f"{title}: input features and CTC posteriors of the worst utterance")
    symbols = task.tokenizer.symbols
    if len(symbols) <= 40:
        axes[1].set_yticks(range(len(symbols)), [("_" if s == " " else "∅" if i == 0 else s) for i, s in enumerate(symbols)],
                           fontsize=6)
    axes[1].set_ylabel("CTC unit")
    axes[1].set_xlabel("output frame")
    fig.savefig(path, dpi=100)
    plt.close(fig)
