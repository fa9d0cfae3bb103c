"""Run-directory artefacts: the worst-recognized utterances and one spectrogram with its transcripts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "(empty)"


def write_worst(path: Path, rows: list[dict[str, Any]], count: int, split: str) -> None:
    """A markdown table of the ``count`` utterances with the highest CER (rows come worst first)."""
    lines = [f"# Worst-recognized {split} utterances ({min(count, len(rows))} of {len(rows)})", "",
             "| rank | id | CER | WER | reference | hypothesis |", "|---:|---|---:|---:|---|---|"]
    for rank, r in enumerate(rows[:count], start=1):
        lines.append(f"| {rank} | {r['id']} | {r['cer']:.3f} | {r['wer']:.3f} | {_cell(r['reference'])} | {_cell(r['hypothesis'])} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@torch.inference_mode()
def plot_spectrogram(path: Path, example, model: torch.nn.Module, task, row: dict[str, Any]) -> None:
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
        axes[0].imshow(feats, origin="lower", aspect="auto", cmap="magma")
        axes[0].set_ylabel("feature bin")
    else:
        axes[0].plot(feats[0], linewidth=0.3)
        axes[0].set_ylabel("waveform")
    axes[0].set_title(f"{row['id']}  (CER {row['cer']:.2f})\nref: {row['reference'][:90]}\nhyp: {row['hypothesis'][:90]}",
                      fontsize=9, loc="left")
    axes[1].imshow(post, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest")
    symbols = task.tokenizer.symbols
    if len(symbols) <= 40:
        axes[1].set_yticks(range(len(symbols)), [("_" if s == " " else "∅" if i == 0 else s) for i, s in enumerate(symbols)],
                           fontsize=6)
    axes[1].set_ylabel("CTC unit")
    axes[1].set_xlabel("output frame")
    fig.savefig(path, dpi=100)
    plt.close(fig)
