"""taskhub's object-detection plugin (``task=detection``), registered through the ``taskhub`` entry point."""
from __future__ import annotations

import taskhub


@taskhub.hookimpl
def register_tasks(register):
    from taskhub_detection.task import DetectionTask

    register(DetectionTask)


@taskhub.hookimpl
def config_package(task):
    return "taskhub_detection.configs" if task == "detection" else None
