"""Export for image classification: the classifier on normalised images; labels and statistics as JSON.

``predict`` normalises (uint8 -> float, mean/std) before calling the model, so the exported
network takes the normalised batch and a bundle reuses ``VisionTask.predict`` unchanged.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from taskhub import ExportSpec


def _top_label(outputs: list[np.ndarray]) -> list[int]:
    return outputs[0].argmax(-1).tolist()


def export_spec(task: Any, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> ExportSpec:
    return ExportSpec(
        module=model,
        example_inputs={"image": task._normalize(batch["image"])},
        output_names=["logits"],
        state=task.state_dict(),  # labels, channels, image size, mean and std: all plain JSON
        decide=_top_label,
    )
