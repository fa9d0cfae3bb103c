"""The options of a config group across config packages, read from package data.

Kept apart from :mod:`taskhub.config` (which imports Hydra's override parser) so that listing
plugins (``taskhub plugins``) imports neither Hydra nor any task module.
"""
from __future__ import annotations

from importlib import resources


def group_options(packages: list[str], group: str) -> list[str]:
    """Options of ``group`` across ``packages``: yaml files under ``<package>/<group>/``, nested ones as a/b."""
    options: set[str] = set()
    for package in packages:
        try:
            root = resources.files(package) / group
        except ModuleNotFoundError:
            continue
        if not root.is_dir():
            continue
        stack = [(root, "")]
        while stack:
            folder, prefix = stack.pop()
            for entry in folder.iterdir():
                if entry.is_dir():
                    stack.append((entry, f"{prefix}{entry.name}/"))
                elif entry.name.endswith(".yaml"):
                    options.add(prefix + entry.name[: -len(".yaml")])
    return sorted(options)
