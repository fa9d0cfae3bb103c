"""taskhub_sweep: hyperparameter sweeps for every task (a built-in taskhub plugin).

- grid sweeps (Hydra's own ``-m``): a table of every run sorted by the objective at the end,
  also written as ``sweep_summary.csv`` / ``sweep_summary.json`` (``on_sweep_end``);
- ``sweep=optuna``: taskhub's Optuna sweeper (resumable SQLite study, pruning, parallel trials);
- ``taskhub sweep report DIR [--promote NAME]``.

Heavy imports (optuna, pandas, matplotlib) happen inside the hooks that need them.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import taskhub
from taskhub import Run

CONFIGS = "taskhub_sweep.configs"


@taskhub.hookimpl
def config_package(task: str) -> str:
    """``sweep/``, ``hydra/sweeper/`` and ``hydra/launcher/`` apply to every task."""
    return CONFIGS


@taskhub.hookimpl
def register_hydra_plugins() -> None:
    """The Optuna sweeper that ``hydra/sweeper/taskhub_optuna.yaml`` names (it imports optuna, the
    ``sweeps`` extra, only when a sweep starts), and the submitit launchers of
    ``hydra/launcher/submitit_*.yaml`` when hydra-submitit-launcher is installed."""
    import importlib.util

    from taskhub_sweep.hydra_sweeper import register_with_hydra

    register_with_hydra()
    try:
        submitit = importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None
    except ModuleNotFoundError:  # no hydra_plugins package at all: neither launcher is installed
        submitit = False
    if submitit:
        from taskhub_sweep import launchers

        launchers.register_with_hydra()


@taskhub.hookimpl
def on_fit_start(run: Run) -> None:
    from taskhub_sweep import pruning

    pruning.check_objective(run)


@taskhub.hookimpl
def on_epoch_end(run: Run, epoch: int, metrics: dict[str, float]) -> None:
    from taskhub_sweep import pruning

    pruning.report(run, epoch, metrics)


@taskhub.hookimpl
def on_fit_end(run: Run, summary: dict[str, Any]) -> None:
    from taskhub_sweep import pruning

    pruning.annotate(run, summary)


@taskhub.hookimpl
def on_sweep_end(sweep_dir: Path) -> None:
    from taskhub_sweep.summary import summarize

    summarize(sweep_dir)


@taskhub.hookimpl
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    from taskhub_sweep.report import add_commands

    add_commands(subparsers)
