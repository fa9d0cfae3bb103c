"""Hydra plumbing: which config packages a run sees, and early checks of the user's choices.

Hydra composes ``taskhub.configs/run.yaml``; the plugin packages that apply to the chosen task
join the search path through ``hydra.searchpath``. Only those: two plugins may both ship a
``model/cnn.yaml`` without clashing. Group choices are checked before Hydra runs, so a typo
gets one line listing the choices with a "did you mean".
"""
from __future__ import annotations

import re

from hydra.core.override_parser.overrides_parser import OverridesParser

from taskhub.config_groups import group_options
from taskhub.errors import UserError, unknown_choice
from taskhub.plugins import Host

HOST_CONFIGS = "taskhub.configs"
#: Config groups a user selects with ``group=option`` (checked before composition).
CHECKED_GROUPS = ("task", "model", "dataset", "optimizer", "scheduler", "trainer", "experiment", "debug", "sweep")
_PLAIN = re.compile(r"^[\w./-]+(,[\w./-]+)*$")


def task_from_overrides(overrides: list[str]) -> str | None:
    for item in overrides:
        key, _, value = item.partition("=")
        if key.lstrip("+~") == "task" and value:
            return value
    return None


def search_packages(host: Host, task: str) -> list[str]:
    """The config packages of a run of ``task``: its plugins' (own plugin first), then the host's."""
    return [package for _, package in host.config_packages(task)] + [HOST_CONFIGS]


def check_task(host: Host, task: str | None) -> str:
    if not task:
        listed = ", ".join(sorted(host.tasks)) or "none installed"
        raise UserError(f"choose a task: taskhub run task=NAME (installed: {listed})")
    if "," in task:
        raise UserError(f"task={task}: sweep one task at a time (each task has its own models and datasets)")
    if task not in host.tasks:
        raise unknown_choice("task", task, host.tasks)
    if not host.config_packages(task):
        raise UserError(f"task '{task}' has no configs: its plugin's config_package hook returned nothing")
    return task


def check_choices(overrides: list[str], packages: list[str], task: str) -> None:
    """Fail early, with the valid options, on ``group=option`` overrides that name no config."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:
        raise UserError(f"cannot parse overrides {' '.join(overrides)}: {str(exc).splitlines()[0]}") from None
    for override in parsed:
        group = override.key_or_group
        if group not in CHECKED_GROUPS or override.package or override.is_delete():
            continue
        raw = override.input_line.partition("=")[2]
        if raw in ("null", "") or not _PLAIN.match(raw):
            continue  # null, or a sweep function such as choice(...): Hydra checks each value
        options = group_options(packages, group)
        for value in raw.split(","):
            if value not in options:
                raise unknown_choice(group, value, options, "" if group == "task" else f"for task={task}")
