"""Hydra plumbing: which config packages a run sees, and early checks of the user's choices.

Hydra composes ``taskhub.configs/run.yaml``; the plugin packages that apply to the chosen task
join the search path through ``hydra.searchpath``. Only those: two plugins may both ship a
``model/cnn.yaml`` without clashing. A user's own config folders join too, where Hydra users
expect them: ``./configs`` under the working directory and ``--config-dir DIR`` (so
``./configs/experiment/NAME.yaml`` is ``experiment=NAME``); they come before the plugins', so a
user's file of the same name wins. Group choices are checked before Hydra runs, so a typo gets
one line listing the choices with a "did you mean", and a chosen file that is not valid YAML
gets one line naming the file and line.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser

from taskhub.config_groups import group_options
from taskhub.errors import UserError, unknown_choice
from taskhub.plugins import Host

HOST_CONFIGS = "taskhub.configs"
#: Config groups a user selects with ``group=option`` (checked before composition).
CHECKED_GROUPS = ("task", "model", "dataset", "optimizer", "scheduler", "trainer", "experiment", "debug", "sweep",
                  "logger")
#: groups whose value is a list of options (``logger=[csv,tensorboard]``)
LIST_GROUPS = ("logger",)
_PLAIN = re.compile(r"^[\w./-]+(,[\w./-]+)*$")
#: The working directory's config folder that joins every run's search path (Hydra users keep
#: their experiments in ``./configs/experiment``).
LOCAL_CONFIGS = "configs"
_CONFIG_DIR_FLAGS = ("--config-dir", "-cd")


def user_config_dirs(flags: Sequence[str], cwd: Path | None = None) -> list[Path]:
    """The user's config folders: ``--config-dir DIR`` (Hydra's flag), then ``./configs`` of the
    working directory when it exists and is not taskhub's own (a checkout's ``configs/``)."""
    dirs: list[Path] = []
    for i, flag in enumerate(flags):
        name, eq, value = flag.partition("=")
        if name not in _CONFIG_DIR_FLAGS:
            continue
        value = value if eq else (flags[i + 1] if i + 1 < len(flags) else "")
        folder = Path(value).expanduser()
        if not value or not folder.is_dir():
            raise UserError(f"--config-dir {value}: no such directory (give a folder holding e.g. experiment/NAME.yaml)")
        dirs.append(folder.resolve())
    local = local_config_dir(cwd)
    return [*dirs, local] if local is not None else dirs


def local_config_dir(cwd: Path | None = None) -> Path | None:
    """``./configs`` of the working directory, when it exists and is not taskhub's own."""
    local = (cwd or Path.cwd()) / LOCAL_CONFIGS
    if local.is_dir() and local.resolve() != Path(str(resources.files(HOST_CONFIGS))).resolve():
        return local.resolve()
    return None


def group_files(packages: Sequence[str], group: str, dirs: Sequence[Path] = ()) -> dict[str, list[Traversable]]:
    """``{option: [its files, in search order]}`` of ``group`` across the folders ``dirs``, then
    ``packages``: yaml files under ``<root>/<group>/``, nested ones as a/b."""
    roots: list[Traversable] = [Path(d) for d in dirs]
    for package in packages:
        try:
            roots.append(resources.files(package))
        except ModuleNotFoundError:
            continue
    options: dict[str, list[Traversable]] = {}
    for base in roots:
        stack = [(base / group, "")]
        while stack:
            folder, prefix = stack.pop()
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if entry.is_dir():
                    stack.append((entry, f"{prefix}{entry.name}/"))
                elif entry.name.endswith(".yaml"):
                    options.setdefault(prefix + entry.name[: -len(".yaml")], []).append(entry)
    return options


def task_from_overrides(overrides: list[str]) -> str | None:
    for item in overrides:
        key, _, value = item.partition("=")
        if key.lstrip("+~") == "task" and value:
            return value
    return None


def task_of_experiment(host: Host, overrides: list[str]) -> str | None:
    """The task whose plugin ships the chosen experiment (``experiment=pennfudan_centernet`` needs no
    ``task=``): None without an experiment or when no plugin ships it; one line when several do."""
    names = [value for item in overrides for key, _, value in [item.partition("=")]
             if key.lstrip("+~").split("@")[0] == "experiment" and value and "," not in value]
    if not names:
        return None
    owners = sorted(task for task in host.tasks
                    if names[-1] in group_options([p for _, p in host.config_packages(task)], "experiment"))
    if len(owners) > 1:
        raise UserError(f"experiment={names[-1]} is shipped for tasks {', '.join(owners)}: pass task=NAME too")
    return owners[0] if owners else None


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


def check_choices(overrides: list[str], packages: list[str], task: str, dirs: Sequence[Path] = ()) -> None:
    """Fail early, with the valid options, on ``group=option`` overrides that name no config
    (``+experiment@_global_=NAME`` included), and on a chosen file that is not valid YAML."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:
        raise UserError(f"cannot parse overrides {' '.join(overrides)}: {str(exc).splitlines()[0]}") from None
    for override in parsed:
        group = override.key_or_group
        if group not in CHECKED_GROUPS or override.is_delete():
            continue
        raw = override.input_line.partition("=")[2]
        if group in LIST_GROUPS and raw.startswith("[") and raw.endswith("]"):
            raw = raw[1:-1].replace(" ", "")  # logger=[csv,tensorboard]: each must exist
            if not raw:
                continue
        if raw in ("null", "") or not _PLAIN.match(raw):
            continue  # null, or a sweep function such as choice(...): Hydra checks each value
        files = group_files(packages, group, dirs)
        for value in raw.split(","):
            if value not in files:
                error = unknown_choice(group, value, files, "" if group == "task" else f"for task={task}")
                if group == "experiment":
                    error = UserError(f"{error} (experiments are read from the task's plugin, "
                                      f"./{LOCAL_CONFIGS}/experiment/ and --config-dir DIR/experiment/)")
                raise error
            for path in files[value]:
                check_yaml(path)


def check_yaml(path: Traversable) -> None:
    """One line naming the file and line when ``path`` is not valid YAML (Hydra prints 100)."""
    import yaml

    try:
        yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "syntax error"
        if exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise UserError(f"{path}{line}: not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
