"""The hook specifications: everything a taskhub plugin can implement.

A plugin is any module (usually a package's ``__init__``) registered in the ``taskhub``
entry-point group, with functions marked ``@taskhub.hookimpl``. Built-in plugins use exactly
these hooks. Implementations may accept a subset of a hook's parameters (pluggy passes only
the ones they name) and must not give them defaults (pluggy does not pass them).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    import torch

    from taskhub.run_state import Run

PROJECT = "taskhub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_tasks(register: Callable[..., None]) -> None:
    """Register the tasks this plugin provides.

    Call once per task ``register("pkg.task:MyTask", name="my", configs="pkg.configs",
    metrics=("accuracy",), objective=("val/accuracy", "max"))``. The class is named by import
    path and imported only when a run needs it, so ``taskhub plugins`` and ``--help`` stay fast;
    ``configs`` is the package of the task's Hydra config groups; ``metrics`` and ``objective``
    are what listings show (they must match the class: the conformance suite checks).
    ``register(MyTask)`` (the class itself, ``name=`` optional) also works. The host detects
    duplicate names (the first registration wins, the second is reported) and attributes each
    task to its plugin.

    :param register: the host's registration callback.
    """


@hookspec
def config_package(task: str) -> str | None:
    """Return a package of Hydra config groups to add to runs of another plugin's ``task``, or None.

    For contributions: a plugin that adds ``model/`` or ``dataset/`` options to someone else's
    task, or groups for every task (the sweep plugin's ``sweep/``). A task's own configs come
    with its registration (``register(..., configs=...)``). The package joins Hydra's search path
    (``pkg://<package>``) only for runs of ``task``, after the task's own package. Called when
    configs are composed and when plugins are listed: return a name, and do nothing else.

    :param task: the name of the task being configured.
    """


@hookspec
def register_hydra_plugins() -> None:
    """Register the Hydra plugins (a sweeper, a launcher) that this plugin's configs name.

    Called once per process, in the launching process, before Hydra composes the first config
    of ``taskhub run`` or ``taskhub eval`` (never by ``taskhub plugins`` or ``--help``). Use
    ``hydra.core.plugins.Plugins.instance().register(cls)``; import Hydra and heavy libraries
    here, not at module import.
    """


@hookspec
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add CLI verbs (``taskhub <verb> ...``) to the ``taskhub`` command.

    Call ``subparsers.add_parser(name, help=...)`` and ``parser.set_defaults(handler=fn)``,
    where ``fn(args) -> int | None`` runs the verb. Raise :class:`taskhub.UserError` for
    mistakes the user can fix.

    :param subparsers: the argparse sub-parsers of the ``taskhub`` command.
    """


@hookspec
def on_fit_start(run: Run) -> None:
    """Called once before the first training epoch (also when resuming).

    :param run: the run: ``run.cfg``, ``run.dir``, ``run.model``, ``run.task``, ``run.epoch``.
    """


@hookspec
def on_train_batch_end(run: Run, step: int, loss: torch.Tensor) -> None:
    """Called after each optimizer step (per-step loggers: TensorBoard's ``train/loss_step``).

    ``loss`` is the step's last batch loss, detached and still on the device: calling
    ``.item()`` waits for the GPU, so do it only every N steps (the TensorBoard logger's
    ``every_n_steps``). Only the main process (rank 0) calls it.

    :param run: the run (``run.optimizer.param_groups[0]["lr"]`` is the learning rate now).
    :param step: optimizer steps taken so far in the run, counting from 1 (it continues on resume).
    :param loss: the batch's training loss, a 0-d tensor.
    """


@hookspec
def on_epoch_end(run: Run, epoch: int, metrics: dict[str, float]) -> None:
    """Called after each epoch's validation, before checkpoints are written.

    Set ``run.should_stop = True`` to end training after this epoch (early stopping does).
    Only the main process (rank 0) calls it.

    :param run: the run.
    :param epoch: the epoch just finished, counting from 1.
    :param metrics: this epoch's row: ``epoch``, ``train/loss``, the ``val/`` metrics, ``lr``, ``seconds``.
    """


@hookspec
def on_checkpoint(run: Run, path: Path, best: bool) -> None:
    """Called after a checkpoint has been written (atomically) to ``path``.

    :param run: the run.
    :param path: the checkpoint file.
    :param best: whether this is the best checkpoint so far by the run's objective.
    """


@hookspec
def on_fit_end(run: Run, summary: dict[str, Any]) -> None:
    """Called once when the run has finished, after testing, before ``summary.json`` is written.

    Implementations may add keys to ``summary``.

    :param run: the run.
    :param summary: what ``summary.json`` will hold.
    """


@hookspec
def on_fit_error(run: Run, error: BaseException) -> None:
    """Called instead of ``on_fit_end`` when training or testing raised (``KeyboardInterrupt``
    included), before the error propagates: close what ``on_fit_start`` opened and record how
    the run ended. Only the main process (rank 0) calls it; an exception raised here is logged
    and does not replace ``error``.

    :param run: the run.
    :param error: what was raised.
    """


@hookspec
def on_sweep_end(sweep_dir: Path) -> None:
    """Called once in the launching process after a multirun (``taskhub run -m``) has finished.

    Called whatever the sweeper (grid or Optuna) and launcher (in-process, joblib, SLURM); not
    called when the sweep was interrupted. The sweep plugin writes ``sweep_summary.csv`` and
    ``sweep_summary.json`` here and prints the runs sorted by the objective.

    :param sweep_dir: the sweep directory (``hydra.sweep.dir``); each job's run directory is below it.
    """
