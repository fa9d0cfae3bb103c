"""The plugin manager: loads the ``taskhub`` entry points and keeps the task registry.

Loading happens on first use (never at import time). ``TASKHUB_PLUGINS=a,b`` loads only the
entry points named a and b. A plugin that fails to import is reported by name and skipped;
the others still load.
"""
from __future__ import annotations

import importlib.metadata as metadata
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from taskhub import hookspecs
from taskhub.errors import unknown_choice

if TYPE_CHECKING:
    from taskhub.task import Task

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "taskhub"
# The host's own hook implementations (run-directory logging, early stopping). They are
# ordinary plugins, registered first, like pytest's default plugins.
DEFAULT_PLUGINS = ("taskhub.builtins.csv_logger", "taskhub.builtins.early_stopping")


@dataclass
class PluginInfo:
    """What ``taskhub plugins`` reports about one plugin."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    error: str | None = None
    tasks: list[str] = field(default_factory=list)


@dataclass
class TaskEntry:
    task_cls: type[Task]
    plugin: str


class Host:
    """The plugin manager plus the registries filled through ``register_*`` hooks."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        # Invariant: every name maps to exactly one task class; a second registration of the
        # same name is reported on the second plugin and ignored.
        self.tasks: dict[str, TaskEntry] = {}

    def load(self) -> None:
        for module_name in DEFAULT_PLUGINS:
            module = __import__(module_name, fromlist=["_"])
            self.pm.register(module, name=module_name)
        wanted = _names_from_env("TASKHUB_PLUGINS")
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if wanted is not None and ep.name not in wanted:
                continue
            if ep.name in self.plugins:
                continue
            info = PluginInfo(name=ep.name, module=ep.value)
            if ep.dist is not None:
                info.distribution, info.version = ep.dist.metadata["Name"], ep.dist.version
            self.plugins[ep.name] = info
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # a broken third-party plugin must not stop the others
                info.error = f"{type(exc).__name__}: {exc}"
                log.warning("taskhub plugin '%s' (%s) failed to load and is skipped: %s",
                            ep.name, info.distribution or ep.value, info.error)
        for impl in self.pm.hook.register_tasks.get_hookimpls():
            try:
                impl.function(register=self._registrar(impl.plugin_name))
            except Exception as exc:
                info = self.plugins.get(impl.plugin_name)
                if info is None:
                    raise
                info.error = f"register_tasks failed: {type(exc).__name__}: {exc}"
                log.warning("taskhub plugin '%s' failed to register its tasks: %s", impl.plugin_name, info.error)

    def _registrar(self, plugin: str):
        def register(task_cls: type[Task], name: str | None = None) -> None:
            task_name = name or getattr(task_cls, "name", "")
            if not task_name:
                raise ValueError(f"{task_cls!r} has no name: set Task.name or pass name=")
            if task_name in self.tasks:
                other = self.tasks[task_name].plugin
                log.warning("task '%s' from plugin '%s' ignored: plugin '%s' already registered it",
                            task_name, plugin, other)
                return
            self.tasks[task_name] = TaskEntry(task_cls, plugin)
            if plugin in self.plugins:
                self.plugins[plugin].tasks.append(task_name)
        return register

    def task_class(self, name: str) -> type[Task]:
        if name not in self.tasks:
            raise unknown_choice("task", name, self.tasks)
        return self.tasks[name].task_cls

    def config_packages(self, task: str) -> list[tuple[str, str]]:
        """(plugin name, package) pairs whose configs apply to ``task``: the task's own plugin first."""
        found: list[tuple[str, str]] = []
        for impl in self.pm.hook.config_package.get_hookimpls():
            package = impl.function(**_kwargs_for(impl, task=task))
            if package:
                found.append((impl.plugin_name, package))
        owner = self.tasks[task].plugin if task in self.tasks else None
        found.sort(key=lambda pair: pair[0] != owner)
        return found

    @property
    def hook(self) -> Any:
        return self.pm.hook


def _kwargs_for(impl: pluggy.HookImpl, **available: Any) -> dict[str, Any]:
    return {name: available[name] for name in impl.argnames}


def _names_from_env(var: str) -> set[str] | None:
    value = os.environ.get(var)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


_host: Host | None = None


def get_host() -> Host:
    """The process-wide host, loaded on first call."""
    global _host
    if _host is None:
        host = Host()
        host.load()
        _host = host
    return _host


def reset_host() -> None:
    """Forget the loaded plugins (tests use this after changing TASKHUB_PLUGINS)."""
    global _host
    _host = None
