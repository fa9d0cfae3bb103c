"""What each installed plugin contributes, for ``taskhub plugins``.

Everything comes from the registrations and the config packages' files (package data), so
listing imports no task module, no torch and no Hydra.
"""
from __future__ import annotations

from typing import Any

from taskhub.config_groups import group_options
from taskhub.plugins import get_host

#: The config groups listed per task, and the inventory key each one is listed under.
LISTED_GROUPS = {"models": "model", "datasets": "dataset", "experiments": "experiment"}


def plugin_inventory() -> list[dict[str, Any]]:
    """One dict per plugin: name, module, version, distribution, hooks, tasks, error, and per task
    its models, datasets and experiments (from the config packages the plugin ships for it), its
    metrics and its objective (for the tasks it registers)."""
    host = get_host()
    out = []
    for name, info in host.plugins.items():
        plugin = host.pm.get_plugin(name)
        hooks = sorted(h.name for h in host.pm.get_hookcallers(plugin) or []) if plugin else []
        entry: dict[str, Any] = {
            "name": name, "module": info.module, "distribution": info.distribution, "version": info.version,
            "hooks": hooks, "tasks": list(info.tasks), **{key: {} for key in LISTED_GROUPS},
            "metrics": {}, "objective": {}, "error": info.error,
        }
        for task_name, task in host.tasks.items():
            packages = [pkg for plugin_name, pkg in host.config_packages(task_name) if plugin_name == name]
            for key, group in LISTED_GROUPS.items():
                options = group_options(packages, group)
                if options:
                    entry[key][task_name] = options
            if task_name in info.tasks:
                entry["metrics"][task_name] = list(task.declared_metrics)
                entry["objective"][task_name] = list(task.declared_objective)
        out.append(entry)
    return out
