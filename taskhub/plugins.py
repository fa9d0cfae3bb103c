"""The plugin manager: loads the ``taskhub`` entry points and keeps the task registry.

Loading happens on first use (never at import time). ``TASKHUB_PLUGINS=a,b`` loads only the
entry points named a and b. A plugin that fails to import is reported by name and skipped;
the others still load.

Tasks register by import path (``register("pkg.task:MyTask", name="my", metrics=..., configs=...)``),
so listing plugins, composing configs and ``taskhub --help`` import no task module (nor torch):
a task's module is imported when a run first needs its class.
"""
from __future__ import annotations

import importlib
import importlib.metadata as metadata
import logging
import os
import warnings
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from taskhub import hookspecs
from taskhub.errors import unknown_choice

if TYPE_CHECKING:
    from taskhub.task import Task

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "taskhub"
# The host's own hook implementations (run-directory logging, early stopping, the run manifest,
# the TensorBoard and MLflow loggers, `taskhub runs`). They are ordinary plugins, registered
# first, like pytest's default plugins.
DEFAULT_PLUGINS = ("taskhub.builtins.csv_logger", "taskhub.builtins.early_stopping", "taskhub.builtins.manifest",
                   "taskhub.builtins.tensorboard_logger", "taskhub.builtins.mlflow_logger",
                   "taskhub.builtins.runs_command", "taskhub.builtins.report", "taskhub.builtins.data_check")


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
    """One registered task. ``target`` is the Task class or its import path (``"pkg.module:Class"``),
    imported on the first use of :attr:`task_cls`. ``metrics``, ``objective`` and ``configs`` are
    what the plugin declared when registering; listing uses them without importing the class."""

    target: str | type[Task]
    plugin: str
    name: str = ""
    metrics: tuple[str, ...] | None = None
    objective: tuple[str, str] | None = None
    configs: str | None = None
    _cls: type[Task] | None = field(default=None, repr=False)

    @property
    def task_cls(self) -> type[Task]:
        """The Task class (imported now if it was registered by path)."""
        if self._cls is None:
            self._cls = _import_task(self)
        return self._cls

    @property
    def declared_metrics(self) -> tuple[str, ...]:
        """The metric names for listings: the declared ones, else the class's (importing it)."""
        return tuple(self.metrics) if self.metrics is not None else tuple(self.task_cls.metrics)

    @property
    def declared_objective(self) -> tuple[str, str]:
        """The class-level objective for listings: declared, else the class's (importing it)."""
        return tuple(self.objective) if self.objective is not None else tuple(self.task_cls.objective)  # type: ignore[return-value]


def _import_task(entry: TaskEntry) -> type[Task]:
    from taskhub.errors import UserError
    from taskhub.task import Task

    if not isinstance(entry.target, str):
        return entry.target
    module_name, _, attr = entry.target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # a missing dependency of one task: one line naming plugin and target
        raise UserError(f"task '{entry.name}' (plugin '{entry.plugin}') cannot be imported from "
                        f"{entry.target}: {type(exc).__name__}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"plugin '{entry.plugin}' registered {entry.target} for task '{entry.name}', "
                        "which is not a taskhub.Task subclass")
    for what, declared, actual in (("metrics", entry.metrics, cls.metrics),
                                   ("objective", entry.objective, cls.objective)):
        if declared is not None and tuple(declared) != tuple(actual):
            log.warning("plugin '%s' registered task '%s' with %s=%s but %s.%s is %s", entry.plugin,
                        entry.name, what, tuple(declared), cls.__name__, what, tuple(actual))
    return cls


class Host:
    """The plugin manager plus the registries filled through ``register_*`` hooks."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        # Invariant: every name maps to exactly one task class; a second registration of the
        # same name is reported on the second plugin and ignored.
        self.tasks: dict[str, TaskEntry] = {}
        self._hydra_prepared = False
        self._warned_configs: set[str] = set()
        #: plugin name -> module prefixes it declared through ``register(..., trusted=...)``.
        self.trusted: dict[str, list[str]] = {}

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
        def register(task: str | type[Task], name: str | None = None, *, metrics: Sequence[str] | None = None,
                     objective: tuple[str, str] | None = None, configs: str | None = None,
                     trusted: Sequence[str] = ()) -> None:
            """Register one task: see the ``register_tasks`` hook.

            ``task``: ``"pkg.module:Class"`` (imported when first needed; then ``name`` is
            required) or the class itself. ``configs``: the package holding this task's Hydra
            config groups (``task/<name>.yaml``, ``model/``, ``dataset/``...). ``metrics`` and
            ``objective``: what ``taskhub plugins`` lists without importing the class.
            ``trusted``: module prefixes (beyond the plugin's own package) whose classes a
            checkpoint's config may build, e.g. ``trusted=("mypkg.models",)`` (see taskhub.trust)."""
            if isinstance(task, str):
                if ":" not in task or not name:
                    raise ValueError(f"register({task!r}): pass 'package.module:Class' and name=")
                task_name = name
            else:
                task_name = name or getattr(task, "name", "")
            if not task_name:
                raise ValueError(f"{task!r} has no name: set Task.name or pass name=")
            if isinstance(trusted, str):
                trusted = (trusted,)
            self.trusted.setdefault(plugin, [])
            self.trusted[plugin].extend(p for p in trusted if p not in self.trusted[plugin])
            if task_name in self.tasks:
                other = self.tasks[task_name].plugin
                log.warning("task '%s' from plugin '%s' ignored: plugin '%s' already registered it",
                            task_name, plugin, other)
                return
            self.tasks[task_name] = TaskEntry(task, plugin, name=task_name,
                                              metrics=tuple(metrics) if metrics is not None else None,
                                              objective=tuple(objective) if objective is not None else None,  # type: ignore[arg-type]
                                              configs=configs)
            if plugin in self.plugins:
                self.plugins[plugin].tasks.append(task_name)
        return register

    def trusted_prefixes(self) -> list[str]:
        """Module prefixes a checkpoint's config may name: each loaded plugin's entry-point module
        and the prefixes plugins declared when registering their tasks."""
        prefixes = [info.module.split(":", 1)[0].strip() for info in self.plugins.values() if info.error is None]
        prefixes += [p for declared in self.trusted.values() for p in declared]
        return list(dict.fromkeys(p for p in prefixes if p))

    def task_class(self, name: str) -> type[Task]:
        if name not in self.tasks:
            raise unknown_choice("task", name, self.tasks)
        return self.tasks[name].task_cls

    def config_packages(self, task: str) -> list[tuple[str, str]]:
        """(plugin name, package) pairs whose configs apply to ``task``: the package registered with
        the task first, then the ``config_package`` contributions (the task's own plugin first)."""
        found: list[tuple[str, str]] = []
        entry = self.tasks.get(task)
        if entry is not None and entry.configs:
            found.append((entry.plugin, entry.configs))
        contributed: list[tuple[str, str]] = []
        for impl in self.pm.hook.config_package.get_hookimpls():
            package = impl.function(**_kwargs_for(impl, task=task))
            if package and (impl.plugin_name, package) not in found:
                contributed.append((impl.plugin_name, package))
        owner = entry.plugin if entry is not None else None
        contributed.sort(key=lambda pair: pair[0] != owner)
        if entry is not None and not entry.configs and contributed and contributed[0][0] == owner \
                and task not in self._warned_configs:
            self._warned_configs.add(task)
            warnings.warn(f"plugin '{owner}' gives task '{task}' its configs through the config_package hook: "
                          f"pass register(..., configs={contributed[0][1]!r}) instead (config_package is for "
                          "contributions to other plugins' tasks; the old way works until 0.4)",
                          DeprecationWarning, stacklevel=2)
        return found + contributed

    def prepare_hydra(self) -> None:
        """Let plugins register their Hydra plugins (sweepers, launchers), once per host, before
        Hydra first composes a run's config (``taskhub run`` and ``eval``, never listing)."""
        if not self._hydra_prepared:
            self._hydra_prepared = True
            self.pm.hook.register_hydra_plugins()

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
