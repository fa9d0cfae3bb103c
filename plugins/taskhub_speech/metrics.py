"""Speech metrics: WER and CER from torchmetrics, plus a per-utterance log for the worst-utterances table."""
from __future__ import annotations

from typing import Any

from torchmetrics import Metric, MetricCollection
from torchmetrics.text import CharErrorRate, WordErrorRate


def edit_distance(a: list[str] | str, b: list[str] | str) -> int:
    """Levenshtein distance between two sequences (characters or words): torchaudio's."""
    from torchaudio.functional import edit_distance as levenshtein

    return int(levenshtein(a, b))


class UtteranceLog(Metric):
    """Keeps (id, reference, hypothesis, cer, wer) per utterance; ``compute`` returns them worst first.

    Not a scalar, so the engine keeps it in ``run.results`` (for :meth:`SpeechTask.plots`) and
    leaves it out of metrics.csv and summary.json. Single-process only: strings are not synced.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []

    def update(self, preds: list[str], target: list[str], ids: list[str]) -> None:
        for uid, hyp, ref in zip(ids, preds, target):
            cer = edit_distance(hyp, ref) / max(len(ref), 1)
            wer = edit_distance(hyp.split(), ref.split()) / max(len(ref.split()), 1)
            self.rows.append({"id": uid, "reference": ref, "hypothesis": hyp, "cer": round(cer, 4), "wer": round(wer, 4)})

    def compute(self) -> list[dict[str, Any]]:
        return sorted(self.rows, key=lambda r: (-r["cer"], -r["wer"], r["id"]))

    def reset(self) -> None:
        super().reset()
        self.rows = []


def speech_metrics() -> MetricCollection:
    # compute_groups off: WER and CER states could coincide after one batch and be merged wrongly
    return MetricCollection({"wer": WordErrorRate(), "cer": CharErrorRate(), "utterances": UtteranceLog()},
                            compute_groups=False)
