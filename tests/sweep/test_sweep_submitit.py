"""``hydra/launcher=submitit_local``: Optuna trials as submitit jobs, preempted and requeued.

submitit's local executor runs each job under a controller process that forwards SIGTERM and
restarts a requeued job, as SLURM would: the trial's run writes ``last.pt`` on SIGTERM (taskhub's
preemption path), the job is requeued, and the requeued job resumes mid-epoch and finishes.
"""
from __future__ import annotations

from conftest import TINY  # this folder's conftest: importable while pytest collects this module

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="hydra-submitit-launcher is in the dev extra")


def _jobs(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in (sweep_dir / ".submitit").glob("*") if p.name.isdigit())


def _trial_of(job: Path) -> str | None:
    """The Optuna trial a submitit job runs, from its submission (the job's Hydra overrides)."""
    from submitit.core.utils import DelayedSubmission

    pickled = next(job.glob("*_submitted.pkl"), None)
    try:
        overrides = DelayedSubmission.load(pickled).args[0] if pickled else []
    except Exception:  # still being written
        return None
    return next((o.split("=", 1)[1] for o in overrides if o.startswith("sweep.trial=")), None)


EPOCHS = 10


@pytest.mark.slow
def test_trials_are_jobs_preempted_and_requeued(tmp_path):

    sweep_dir = tmp_path / "sweep"
    # 10 epochs of a fraction of a second each: the SIGTERM sent after the first checkpoint must land
    # while the trial still trains (once fit is over, submitit's own handler takes it: "Bypassing").
    args = ["run", "-m", "task=vision", *TINY, "dataset.num_samples=600", f"trainer.max_epochs={EPOCHS}", "sweep=optuna",
            "sweep.n_trials=2", "sweep.n_jobs=2", "sweep.sampler=random", "sweep.pruner=none",
            "optimizer.lr=tag(log, interval(1e-3, 1e-2))", "hydra/launcher=submitit_local",
            "hydra.launcher.timeout_min=7", f"hydra.sweep.dir={sweep_dir}"]
    sweeper = subprocess.Popen([sys.executable, "-m", "taskhub", *args], cwd=tmp_path, start_new_session=True,
                               stdout=open(tmp_path / "sweep.log", "w"), stderr=subprocess.STDOUT,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        # Preempt each trial's job during its training (after its first epoch's checkpoint), like
        # SLURM preempting it: SIGTERM to the job's controller, which forwards it.
        deadline, preempted = time.monotonic() + 300, {}
        while len(preempted) < 2:
            assert sweeper.poll() is None and time.monotonic() < deadline, (tmp_path / "sweep.log").read_text()[-3000:]
            for job in _jobs(sweep_dir):
                trial = _trial_of(job)
                if trial is not None and trial not in preempted and (sweep_dir / trial / "checkpoints" / "last.pt").is_file():
                    os.kill(int(job.name), signal.SIGTERM)
                    preempted[trial] = job
            time.sleep(0.1)
        assert sweeper.wait(timeout=400) == 0, (tmp_path / "sweep.log").read_text()[-3000:]
    finally:
        if sweeper.poll() is None:
            os.killpg(sweeper.pid, signal.SIGKILL)
            sweeper.wait()
    jobs = _jobs(sweep_dir)
    assert sorted(preempted) == ["0", "1"] and len(jobs) == 2  # one submitit job per trial
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    study = optuna.load_study(study_name=meta["study_name"], storage=meta["storage"])
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    for job in jobs:
        log = "".join(p.read_text() for p in job.glob("*_log.*"))
        assert "preempted (SIGTERM): saved a resumable checkpoint" in log
        assert "Requeued job" in log and "resuming from" in log
    for trial in study.trials:
        summary = json.loads((sweep_dir / str(trial.number) / "summary.json").read_text())
        assert summary["epochs"] == EPOCHS and trial.value == pytest.approx(summary["objective"]["value"])
    from submitit.core.utils import DelayedSubmission

    submitted = DelayedSubmission.load(next(jobs[0].glob("*_submitted.pkl")))
    assert submitted._timeout_min == 7  # the time limit came from hydra.launcher.timeout_min
