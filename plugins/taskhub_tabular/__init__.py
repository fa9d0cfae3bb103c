"""taskhub's tabular plugin (``task=tabular``): classification and regression on feature columns."""
from __future__ import annotations

from collections.abc import Callable

import taskhub


@taskhub.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    # By import path: listing plugins imports neither the task module nor torch.
    register("taskhub_tabular.task:TabularTask", name="tabular", configs="taskhub_tabular.configs",
             metrics=("accuracy", "f1", "auroc", "mae", "rmse", "r2"), objective=("val/accuracy", "max"))
