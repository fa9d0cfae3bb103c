"""Export for tabular data: the MLP on encoded numeric and categorical columns; the fitted
encoder (column names, scaler statistics, category codes, classes) goes to ``state.json``."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from taskhub import ExportSpec


def _classes(outputs: list[np.ndarray]) -> list[int]:
    out = outputs[0]
    return (out[:, 0] > 0).astype(int).tolist() if out.shape[-1] == 1 else out.argmax(-1).tolist()


def export_spec(task: Any, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> ExportSpec:
    regression = task.encoder.kind == "regression"
    return ExportSpec(
        module=model,
        example_inputs={"num": batch["num"], "cat": batch["cat"]},
        output_names=["prediction" if regression else "logits"],
        state=task.state_dict(),
        decide=None if regression else _classes,  # regression: the values themselves, within the tolerance
    )
