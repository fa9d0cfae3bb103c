"""taskhub's tabular plugin (``task=tabular``): classification and regression on feature columns."""
from __future__ import annotations

import taskhub


@taskhub.hookimpl
def register_tasks(register):
    from taskhub_tabular.task import TabularTask

    register(TabularTask)


@taskhub.hookimpl
def config_package(task):
    return "taskhub_tabular.configs" if task == "tabular" else None
