"""``taskhub plugins new NAME``: write a complete, installable plugin package to start from.

The files come from ``taskhub/templates/plugin`` (package data; ``$name``-style placeholders,
:class:`string.Template`). Freshly written, the package installs, ``taskhub run task=NAME``
learns, and its tests (the conformance suite) pass.
"""
from __future__ import annotations

import argparse
import keyword
import re
from importlib import resources
from pathlib import Path
from string import Template

from taskhub.errors import UserError

TEMPLATES = "templates/plugin"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_name(value: str, what: str) -> str:
    if not _NAME.match(value) or keyword.iskeyword(value):
        raise UserError(f"{what} {value!r}: use lowercase letters, digits and _ (starting with a letter), "
                        "e.g. keyword_spotting")
    return value


def _destination(template: str, module: str, name: str, task: str) -> str:
    """The output path of a template file (``module/`` becomes the package, ``task.yaml`` the task's)."""
    path = template.removesuffix(".tmpl")
    if path.startswith("module/"):
        path = module + path[len("module"):]
    path = path.replace("configs/task/task.yaml", f"configs/task/{task}.yaml")
    return path.replace("tests/test_plugin.py", f"tests/test_{name}.py")


def _templates() -> list[tuple[str, str]]:
    """(relative path, text) of every template file."""
    root = resources.files("taskhub") / TEMPLATES
    found: list[tuple[str, str]] = []
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                stack.append((entry, f"{prefix}{entry.name}/"))
            elif entry.name.endswith(".tmpl"):
                found.append((prefix + entry.name, entry.read_text()))
    return sorted(found)


def new_plugin(name: str, task: str | None = None, directory: Path | str = ".") -> Path:
    """Write plugin ``taskhub-NAME`` (module ``taskhub_NAME``, task ``TASK``, default NAME) into
    ``DIRECTORY/taskhub-NAME`` and return that folder. Refuses to overwrite an existing folder."""
    from taskhub import __version__

    name = _check_name(name.removeprefix("taskhub_").removeprefix("taskhub-").replace("-", "_"), "plugin name")
    task = _check_name(task or name, "task name")
    target = Path(directory).expanduser() / f"taskhub-{name.replace('_', '-')}"
    if target.exists():
        raise UserError(f"{target} already exists: choose another --dir or NAME")
    module = f"taskhub_{name}"
    values = {"name": name, "dist": name.replace("_", "-"), "task": task, "module": module,
              "taskhub_version": __version__, "class_name": "".join(part.title() for part in task.split("_")) + "Task"}
    for template, text in _templates():
        out = target / _destination(template, module, name, task)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(Template(text).substitute(values))
    return target


def add_new_command(plugins_parser: argparse.ArgumentParser) -> None:
    """``taskhub plugins new NAME [--task TASK] [--dir DIR]`` under the ``plugins`` verb."""
    verbs = plugins_parser.add_subparsers(dest="plugins_command", metavar="new")
    new = verbs.add_parser("new", help="write a new plugin package: taskhub plugins new NAME [--task TASK] [--dir DIR]",
                           description="Write taskhub-NAME/: pyproject with the entry point, a Task with a built-in "
                                       "dataset, a model, metrics, configs, a README and the conformance tests.")
    new.add_argument("name", help="the plugin's name: distribution taskhub-NAME, module taskhub_NAME")
    new.add_argument("--task", help="the task's name (task=TASK); default: NAME")
    new.add_argument("--dir", default=".", help="where to create taskhub-NAME/ (default: here)")
    new.set_defaults(handler=_cmd_new)


def _cmd_new(args: argparse.Namespace) -> int:
    target = new_plugin(args.name, args.task, args.dir)
    task = args.task or target.name.removeprefix("taskhub-").replace("-", "_")
    print(f"wrote {target}\nnext: pip install -e {target} && taskhub run task={task} && pytest {target / 'tests'}")
    return 0
