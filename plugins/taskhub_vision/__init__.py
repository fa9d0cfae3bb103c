"""taskhub's image-classification plugin (``task=vision``), registered through the ``taskhub`` entry point."""
from __future__ import annotations

import taskhub


@taskhub.hookimpl
def register_tasks(register):
    from taskhub_vision.task import VisionTask

    register(VisionTask)


@taskhub.hookimpl
def config_package(task):
    return "taskhub_vision.configs" if task == "vision" else None
