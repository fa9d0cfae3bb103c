"""taskhub's text-classification plugin (``task=text``), registered through the ``taskhub`` entry point."""
from __future__ import annotations

from collections.abc import Callable

import taskhub


@taskhub.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    # By import path: listing plugins imports neither the task module nor torch.
    register("taskhub_text.task:TextTask", name="text", configs="taskhub_text.configs",
             metrics=("accuracy", "f1_macro", "confusion_matrix"), objective=("val/accuracy", "max"))
