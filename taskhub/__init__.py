"""taskhub: a plugin host for deep-learning tasks.

The public API (what plugins may import): ``hookimpl``, ``Task``, ``Run`` (what hooks and
``Task.plots`` receive), ``Data``, ``UserError``, ``require_extra`` (an optional library, or one
line naming the extra that installs it: a ``MissingExtra``, a ``UserError``), ``run``, ``load``, and the helpers in
``taskhub.data`` and ``taskhub.testing``. Importing taskhub loads no plugin and no heavy library.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskhub.errors import MissingExtra, UserError, did_you_mean, unknown_choice
from taskhub.export.spec import ExportSpec
from taskhub.extras import require_extra
from taskhub.hookspecs import hookimpl
from taskhub.run_state import Run
from taskhub.task import Data, Task, objective

if TYPE_CHECKING:
    from taskhub.api import Predictor

__version__ = "0.1.0"
__all__ = ["hookimpl", "Task", "ExportSpec", "Run", "Data", "UserError", "MissingExtra", "require_extra", "did_you_mean", "unknown_choice", "run", "load", "task_class", "objective", "__version__"]


def run(task: str, overrides: Any = (), multirun: bool = False, data: Any = None, **settings: Any) -> Any:
    """Run a task as ``taskhub run`` does and return its summary (see :func:`taskhub.api.run`).

    ``data``: in-memory data for tasks with a ``dataset=arrays`` config, e.g. ``data=(X, y)``.
    """
    from taskhub.api import run as _run

    return _run(task, overrides, multirun=multirun, data=data, **settings)


def load(ckpt: Any, overrides: Any = (), device: str = "auto", trust: Any = None) -> Predictor:
    """Load a checkpoint for prediction (see :func:`taskhub.api.load`); ``trust="mypkg"`` lets its
    config build classes from ``mypkg`` too (only for files you trust: see docs/reliability.md)."""
    from taskhub.api import load as _load

    return _load(ckpt, overrides, device=device, trust=trust)


def task_class(name: str) -> type[Task]:
    """The Task class registered as ``name`` by an installed plugin (loads plugins on first use)."""
    from taskhub.plugins import get_host

    return get_host().task_class(name)
