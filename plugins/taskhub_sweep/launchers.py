"""Cluster launchers: Hydra's submitit launchers with taskhub's preemption path.

``hydra/launcher=submitit_slurm`` (or ``submitit_local``, the same thing as local processes)
runs each job of a sweep (each Optuna trial) as a submitit job. These subclasses add one thing to
Hydra's: a job that is preempted or reaches its time limit goes through taskhub's SIGTERM path
(``last.pt`` written at the next optimizer step, exit status 75) and is then requeued; the
requeued job runs the same overrides again, and the Optuna sweeper gives every trial
``trainer.resume=auto``, so it continues from that checkpoint (mid-epoch) instead of starting over.

- SIGTERM (what SLURM sends on preemption; submitit's local controller forwards it) reaches
  taskhub's handler while training runs;
- SIGUSR2 (submitit's signal ``signal_delay_s`` before the time limit) is turned into the same
  SIGTERM while training runs, and left to submitit's own checkpoint-and-requeue otherwise.
"""
from __future__ import annotations

import logging
import os
import signal
import warnings
from typing import Any

from hydra.core.plugins import Plugins
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher, SlurmLauncher

log = logging.getLogger("taskhub")

#: The exit status of a taskhub run that saved a resumable checkpoint after SIGTERM.
EXIT_PREEMPTED = 75


class _Requeueing:
    """Mixed into Hydra's submitit launchers: requeue a job that taskhub's SIGTERM path stopped."""

    #: Jobs may run twice (requeued): the Optuna sweeper then gives its trials ``trainer.resume=auto``.
    requeues = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import submitit

        quiet_schema_warning()  # the job composes its config again, in this process
        from submitit.core.job_environment import SignalHandler

        previous = signal.getsignal(signal.SIGUSR2)

        def on_usr2(signum: int, frame: Any) -> None:
            term = signal.getsignal(signal.SIGTERM)
            if getattr(term, "__func__", None) is SignalHandler.bypass or not callable(term):
                if callable(previous):  # not training: submitit checkpoints (resubmits) and requeues
                    previous(signum, frame)
                return
            log.warning("submitit: time limit near; checkpointing through SIGTERM")
            os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGUSR2, on_usr2)
        try:
            return super().__call__(*args, **kwargs)  # type: ignore[misc]
        except SystemExit as exc:
            if exc.code != EXIT_PREEMPTED:
                raise
            env = submitit.JobEnvironment()
            log.warning("submitit: job %s preempted after writing its checkpoint; requeued", env.job_id)
            env._requeue(int(self.params.get("max_num_timeout", 0)))  # type: ignore[attr-defined]
            raise


class TaskhubSlurmLauncher(_Requeueing, SlurmLauncher):
    """``hydra/launcher=submitit_slurm``: SLURM jobs (``scontrol requeue`` after a preemption)."""


class TaskhubLocalLauncher(_Requeueing, LocalLauncher):
    """``hydra/launcher=submitit_local``: local processes under submitit's controller (which restarts
    a requeued job): the same path as on SLURM, testable anywhere."""


#: Names ``hydra/launcher/submitit_*.yaml`` use as ``_target_`` (Hydra accepts hydra_plugins.* only).
ALIASES = {"hydra_plugins.taskhub_sweep.SubmititSlurmLauncher": TaskhubSlurmLauncher,
           "hydra_plugins.taskhub_sweep.SubmititLocalLauncher": TaskhubLocalLauncher}


def quiet_schema_warning() -> None:
    """Our ``submitit_*.yaml`` replace hydra-submitit-launcher's presets of the same names, and Hydra
    checks them against those presets' schemas (every field is one of its fields) with a deprecation
    warning. The files hold every field, so they also work once Hydra drops the check."""
    warnings.filterwarnings("ignore", message="'hydra/launcher/submitit_(local|slurm)' is validated against ConfigStore",
                            category=UserWarning)


def register_with_hydra() -> None:
    """Make the aliases resolve (idempotent); see ``hydra_sweeper.register_with_hydra``."""
    quiet_schema_warning()
    plugins = Plugins.instance()
    for alias, cls in ALIASES.items():
        if plugins.class_name_to_class.get(alias) is not cls:
            plugins.register(cls)
            plugins.class_name_to_class[alias] = cls
