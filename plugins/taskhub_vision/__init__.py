"""taskhub's image-classification plugin (``task=vision``), registered through the ``taskhub`` entry point."""
from __future__ import annotations

from collections.abc import Callable

import taskhub


@taskhub.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    # By import path: listing plugins imports neither the task module nor torch.
    register("taskhub_vision.task:VisionTask", name="vision", configs="taskhub_vision.configs",
             metrics=("accuracy", "f1_macro", "confusion_matrix"), objective=("val/accuracy", "max"))
