"""taskhub's text-classification plugin (``task=text``), registered through the ``taskhub`` entry point."""
from __future__ import annotations

import taskhub


@taskhub.hookimpl
def register_tasks(register):
    from taskhub_text.task import TextTask

    register(TextTask)


@taskhub.hookimpl
def config_package(task):
    return "taskhub_text.configs" if task == "text" else None
