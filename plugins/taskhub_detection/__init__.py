"""taskhub's object-detection plugin (``task=detection``), registered through the ``taskhub`` entry point."""
from __future__ import annotations

import argparse
from collections.abc import Callable

import taskhub


@taskhub.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    # By import path: listing plugins imports neither the task module nor torch.
    register("taskhub_detection.task:DetectionTask", name="detection", configs="taskhub_detection.configs",
             metrics=("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_100"),
             objective=("val/map", "max"))


@taskhub.hookimpl(trylast=True)  # after the host's `taskhub data` verb exists, so `convert` joins it
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    from taskhub_detection.convert import attach

    attach(subparsers)
