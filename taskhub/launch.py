"""Runs Hydra jobs for the CLI and the Python API, which therefore run exactly the same thing."""
from __future__ import annotations

import errno
import os
import sys
from typing import Any

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from taskhub import config
from taskhub.engine import distributed, run_dir
from taskhub.errors import UserError, user_message
from taskhub.plugins import get_host
from taskhub.schema import register_schemas

_results: list[dict[str, Any]] = []
_user_errors: list[BaseException] = []


def _job(cfg: DictConfig) -> Any:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from taskhub.engine.execute import execute

    try:
        summary = execute(cfg)
    except Exception as exc:
        # A single run's user error is re-raised by launch() for the CLI to print as one line
        # (Hydra would first print "Error executing job..."); sweeps see failures as failures.
        if HydraConfig.get().mode == RunMode.RUN and user_message(exc) is not None:
            _user_errors.append(exc)
            return None
        raise
    _results.append(summary)
    # Sweepers optimise the returned value: the best validation value of the objective.
    return summary.get("objective", {}).get("value", summary)


class SweepEnd(Callback):
    """Calls the ``on_sweep_end`` hook when a multirun ends. A Hydra callback, because only Hydra's
    launching process knows the (resolved) sweep directory, whichever launcher ran the jobs."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from pathlib import Path

        get_host().hook.on_sweep_end(sweep_dir=Path(str(config.hydra.sweep.dir)))


#: Hydra's flags that take a value (``--cfg job``); ``--info`` takes one optionally.
_VALUE_FLAGS = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
                "--config-dir", "-cd", "--experimental-rerun"}


def hydra_args(args: list[str]) -> tuple[list[str], list[str], bool]:
    """Split Hydra's own flags (with their values) from the overrides: (overrides, flags, multirun)."""
    overrides: list[str] = []
    flags: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            flags.append(arg)
            takes_value = arg in _VALUE_FLAGS or (arg in ("--info", "-i") and i + 1 < len(args) and "=" not in args[i + 1])
            if takes_value and i + 1 < len(args):
                flags.append(args[i + 1])
                i += 1
        else:
            overrides.append(arg)
        i += 1
    return overrides, flags, any(f in ("-m", "--multirun") for f in flags)


_WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.ENOTDIR, errno.EEXIST, errno.EDQUOT}


def _lock_literal_run_dir(overrides: list[str], flags: list[str], multirun: bool):
    """Lock ``hydra.run.dir=DIR`` (a plain path) for a single run: a second run there gets one
    line before it can overwrite the first one's ``.hydra/``. (The job locks any run dir too.)"""
    given = [o.partition("=")[2] for o in overrides if o.startswith("hydra.run.dir=")]
    shows_only = any(f in ("--cfg", "-c", "--info", "-i", "--help", "-h", "--hydra-help") for f in flags)
    if multirun or shows_only or not given or "${" in given[-1] or distributed.rank() != 0:
        return None
    from pathlib import Path

    return run_dir.acquire(Path(given[-1]).expanduser())


def launch(args: list[str], config_name: str = "run") -> list[dict[str, Any]]:
    """Run ``taskhub run ARGS`` (overrides plus Hydra flags such as ``-m``); returns the jobs' summaries."""
    overrides, flags, multirun = hydra_args(args)
    host = get_host()
    named = config.task_from_overrides(overrides)
    if named is None and (implied := config.task_of_experiment(host, overrides)):
        named = implied  # experiment=NAME alone: the task of the plugin that ships it
        overrides = [f"task={implied}", *overrides]
    task = config.check_task(host, named)
    packages = config.search_packages(host, task)
    config.check_choices(overrides, packages, task, config.user_config_dirs(flags))
    # ./configs of the working directory first (a user's file wins); Hydra adds --config-dir itself.
    local = config.local_config_dir()
    searchpath = ([f"file://{local}"] if local else []) + [f"pkg://{p}" for p in packages[:-1]]
    extra = ["hydra.searchpath=[" + ",".join(searchpath) + "]"]
    if multirun:
        extra.append("+hydra.callbacks.taskhub_sweep_end._target_=taskhub.launch.SweepEnd")
    if distributed.world_size() > 1:
        if not any(o.startswith("hydra.run.dir=") for o in overrides):
            raise UserError("under torchrun pass hydra.run.dir=DIR so that every process uses one run directory")
        if distributed.rank() != 0:
            # Only global rank 0 writes (on a shared filesystem every node sees one run directory).
            extra.append("hydra.output_subdir=null")
            if not any(o.startswith("hydra/job_logging=") for o in overrides):  # Hydra's default: console + file
                extra.append("hydra.job_logging.root.handlers=[console]")
    register_schemas()
    host.prepare_hydra()  # plugins' Hydra sweepers and launchers
    main = hydra.main(version_base="1.3", config_path=f"pkg://{config.HOST_CONFIGS}", config_name=config_name)(_job)
    saved_argv, saved_env = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    # Errors propagate to our caller, which prints user errors as one line (Hydra would print a traceback).
    os.environ["HYDRA_FULL_ERROR"] = "1"
    # Flags first: Hydra's argparse rejects overrides split by a flag (`a=1 -m b=2`).
    sys.argv = ["taskhub", *flags, *overrides, *extra]
    start = len(_results)
    lock = _lock_literal_run_dir(overrides, flags, multirun)  # before Hydra writes .hydra/ into it
    try:
        main()
    except OSError as exc:  # Hydra creating the run directory or writing .hydra/: one line
        if exc.errno not in _WRITE_ERRNOS or not getattr(exc, "filename", None):
            raise
        raise run_dir.write_error(exc, exc.filename) from None
    finally:
        if lock is not None:
            run_dir.release(lock)
        sys.argv = saved_argv
        if saved_env is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_env
    results = _results[start:]
    del _results[start:]
    if _user_errors:
        error = _user_errors[-1]
        _user_errors.clear()
        raise error
    return results
