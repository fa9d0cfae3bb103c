"""Export for text classification: the classifier on token ids and lengths; the tokenizer as
``tokenizer.json`` (the tokenizers library's own format) and the labels as JSON.

The sequence axis is dynamic, and packed recurrences become ONNX's ``sequence_lens``, so padding
never enters the recurrence in the bundle either.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from taskhub import ExportSpec, UserError
from taskhub_text.tokenization import TextTokenizer


def _top_label(outputs: list[np.ndarray]) -> list[int]:
    return outputs[0].argmax(-1).tolist()


def export_spec(task: Any, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> ExportSpec:
    if task.tokenizer is None:
        raise UserError("text: the checkpoint carries no tokenizer; nothing to export")
    return ExportSpec(
        module=model,
        example_inputs={"input_ids": batch["input_ids"], "lengths": batch["lengths"]},
        output_names=["logits"],
        dynamic_axes={"input_ids": {1: "sequence"}},
        state={"labels": list(task.labels), "max_length": task.tokenizer.max_length},
        files={"tokenizer.json": task.tokenizer.to_json()},
        decide=_top_label,
    )


def load_bundle_state(task: Any, state: dict[str, Any], folder: Path) -> None:
    task.labels = list(state["labels"])
    text = (folder / "tokenizer.json").read_text(encoding="utf-8")
    task.tokenizer = TextTokenizer.from_json(text, state.get("max_length"))
    task.restored = True
