"""Export for speech-to-text: the CTC acoustic model on features of any length; decoding stays
outside the graph (the task's greedy or beam decoder, as configured), the CTC vocabulary and the
transcript normalisation go to ``state.json``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from taskhub import ExportSpec, UserError


def export_spec(task: Any, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> ExportSpec:
    if task.tokenizer is None:
        raise UserError("speech: the checkpoint carries no CTC vocabulary; nothing to export")
    name = "waveform" if getattr(model, "input_kind", "features") == "waveform" else "features"

    def transcripts(outputs: list[np.ndarray]) -> list[str]:
        return task.decoder()(torch.from_numpy(outputs[0]), torch.from_numpy(outputs[1]))

    return ExportSpec(
        module=model,
        example_inputs={name: batch["features"], "lengths": batch["lengths"]},
        output_names=["log_probs", "out_lengths"],
        dynamic_axes={name: {1: "time"}, "log_probs": {1: "frames"}},
        state=task.state_dict(),  # CTC vocabulary (characters, or the BPE model as base64) and normalisation
        decide=transcripts,
    )
