"""Inside a trial: report the objective each epoch to the Optuna study and stop pruned trials.

The sweeper passes ``sweep.trial``, ``sweep.study_name`` and ``sweep.storage`` to each trial, so
this works in whatever process runs the trial (in-process, joblib workers, SLURM jobs). A pruned
trial stops after the epoch (its checkpoints and test metrics stay useful) and says so in
``summary.json``; the sweeper then marks it PRUNED in the study.
"""
from __future__ import annotations

import logging
import math
from typing import Any

log = logging.getLogger("taskhub")

# One Trial per (storage, study, number) per process: opening the study every epoch is wasteful.
_trials: dict[tuple[str, str, int], Any] = {}


def _trial_settings(run: Any) -> Any:
    sweep = run.cfg.get("sweep")
    if sweep is None or sweep.get("trial") is None or not sweep.get("storage"):
        return None
    return sweep


def _trial(sweep: Any) -> Any:
    from taskhub import require_extra

    optuna = require_extra("optuna", "sweeps", "sweep.trial (a trial of sweep=optuna)")
    from taskhub_sweep.study import load_for_trial

    key = (str(sweep.storage), str(sweep.study_name), int(sweep.trial))
    if key not in _trials:
        study = load_for_trial(sweep)
        frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == key[2])
        _trials[key] = optuna.trial.Trial(study, frozen._trial_id)
    return _trials[key]


def check_objective(run: Any) -> None:
    """``on_fit_start``: a trial must optimise what its study does (the sweeper resolved the study's
    direction with ``taskhub.objective`` before any data was read; this run resolved it from its own)."""
    sweep = _trial_settings(run)
    if sweep is None:
        return
    from taskhub import UserError

    study = _trial(sweep).study
    metric = study.user_attrs.get("objective")
    direction = study.direction.name.lower()
    key, mode = run.monitor
    if (metric and metric != key) or (not sweep.get("direction") and direction != ("maximize" if mode == "max" else "minimize")):
        raise UserError(f"sweep: study {sweep.study_name} was created to {direction} {metric or 'its objective'}, "
                        f"but this trial's run optimises {key} ({mode}): set trainer.monitor and trainer.mode "
                        "(or the task's settings, e.g. task.kind) on the sweep's command line")


def report(run: Any, epoch: int, metrics: dict[str, float]) -> None:
    """``on_epoch_end``: report the monitored metric; prune (stop the run) when the pruner says so."""
    sweep = _trial_settings(run)
    if sweep is None:
        return
    value = metrics.get(run.monitor[0])
    if value is None or math.isnan(float(value)):
        return
    trial = _trial(sweep)
    trial.report(float(value), step=epoch)
    if trial.should_prune():
        log.info("optuna: pruning trial %d after epoch %d (%s=%.4g)", trial.number, epoch, run.monitor[0], value)
        run.state["sweep_pruned_at"] = epoch
        run.should_stop = True


def annotate(run: Any, summary: dict[str, Any]) -> None:
    """``on_fit_end``: record the trial and whether it was pruned in ``summary.json``."""
    sweep = _trial_settings(run)
    if sweep is None:
        return
    pruned_at = run.state.get("sweep_pruned_at")
    summary["sweep"] = {"trial": int(sweep.trial), "study": str(sweep.study_name),
                        "pruned": pruned_at is not None, "pruned_at_epoch": pruned_at}
    _trials.pop((str(sweep.storage), str(sweep.study_name), int(sweep.trial)), None)
