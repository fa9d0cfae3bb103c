"""A killed Optuna sweep resumes with the same command and ends with exactly n_trials finished trials."""
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

from taskhub.testing import cli

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def _counts(db: Path) -> tuple[int, int]:
    """(finished, running) trials in the study stored in ``db``."""
    if not db.is_file():
        return 0, 0
    try:
        summaries = optuna.get_all_study_summaries(f"sqlite:///{db}")
        if not summaries:
            return 0, 0
        study = optuna.load_study(study_name=summaries[0].study_name, storage=f"sqlite:///{db}")
        trials = study.get_trials(deepcopy=False)
        return (sum(t.state in FINISHED for t in trials),
                sum(t.state == optuna.trial.TrialState.RUNNING for t in trials))
    except Exception:  # the database is being created
        return 0, 0


def _finished(db: Path) -> int:
    return _counts(db)[0]


@pytest.mark.slow
def test_sweep_resume_after_kill(tmp_path):

    sweep_dir = tmp_path / "sweep"
    args = ["run", *TINY, "task=vision", "sweep=optuna", "sweep.n_trials=4", "sweep.sampler=random",
            "optimizer.lr=tag(log, interval(1e-4, 1e-1))", f"hydra.sweep.dir={sweep_dir}", "-m"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-m", "taskhub", *args], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # Kill as soon as two trials have finished and the third is running: on a fast machine a
        # fixed sleep here let the whole sweep finish first.
        deadline = time.monotonic() + 240
        while first.poll() is None and time.monotonic() < deadline:
            finished, running = _counts(sweep_dir / "optuna.db")
            if finished >= 2 and running:
                break
            time.sleep(0.05)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)  # like a crash or a preempted node: no cleanup at all
        first.wait()
    assert 2 <= _finished(sweep_dir / "optuna.db") < 4
    second = cli(*args, cwd=tmp_path, env=env, timeout=400)
    assert second.returncode == 0, second.stderr[-3000:]
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    study = optuna.load_study(study_name=meta["study_name"], storage=meta["storage"])
    trials = study.get_trials()
    assert len([t for t in trials if t.state in FINISHED]) == 4
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    for t in trials:  # an interrupted trial was failed and its parameters run again
        if t.state == optuna.trial.TrialState.FAIL:
            rerun = [r for r in trials if r.user_attrs.get("rerun_of") == t.number]
            assert rerun and rerun[0].params == t.params
    summary = json.loads((sweep_dir / "sweep_summary.json").read_text())
    assert len([r for r in summary["runs"] if r["status"] == "ok"]) == 4
