"""What each installed plugin contributes, for ``taskhub plugins``."""
from __future__ import annotations

from typing import Any

from taskhub.config import group_options
from taskhub.plugins import get_host


def plugin_inventory() -> list[dict[str, Any]]:
    """One dict per plugin: name, version, distribution, hooks, tasks, and per task its
    models, datasets and metrics (from the config packages the plugin ships for it)."""
    host = get_host()
    out = []
    for name, info in host.plugins.items():
        plugin = host.pm.get_plugin(name)
        hooks = sorted(h.name for h in host.pm.get_hookcallers(plugin) or []) if plugin else []
        entry: dict[str, Any] = {
            "name": name, "module": info.module, "distribution": info.distribution, "version": info.version,
            "hooks": hooks, "tasks": list(info.tasks), "models": {}, "datasets": {}, "metrics": {},
            "error": info.error,
        }
        for task_name in host.tasks:
            packages = [pkg for plugin_name, pkg in host.config_packages(task_name) if plugin_name == name]
            if not packages:
                continue
            models, datasets = group_options(packages, "model"), group_options(packages, "dataset")
            if models:
                entry["models"][task_name] = models
            if datasets:
                entry["datasets"][task_name] = datasets
            if task_name in info.tasks:
                entry["metrics"][task_name] = list(host.tasks[task_name].task_cls.metrics)
        out.append(entry)
    return out
