"""Sweeps shared through a real PostgreSQL server (started by the ``postgres`` fixture).

Two ``taskhub run -m ... sweep=optuna`` workers, as two machines would run them (their own sweep
directories, one database), work on one study: one is killed mid-trial, the other finishes the
sweep with exactly ``n_trials`` finished trials, the dead worker's trial FAIL and retried.
"""
from __future__ import annotations

from conftest import TINY  # this folder's conftest: importable while pytest collects this module

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

import taskhub
from taskhub.cli import main

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def _study(url: str, name: str) -> optuna.Study | None:
    from taskhub_sweep.study import normalize_url

    try:
        return optuna.load_study(study_name=name, storage=normalize_url(url))
    except KeyError:  # not created yet
        return None


def _worker(tmp_path, url: str, index: int, *extra: str) -> subprocess.Popen:

    args = ["run", "-m", "task=vision", *TINY, "dataset.num_samples=400", "trainer.max_epochs=3",
            "trainer.num_threads=1", "sweep=optuna", "sweep.n_trials=4", "sweep.sampler=random",
            "sweep.pruner=none", f"sweep.storage={url}", "sweep.study_name=shared", "sweep.heartbeat=1",
            "sweep.grace_period=4", "optimizer.lr=tag(log, interval(1e-3, 1e-1))",
            f"hydra.sweep.dir={tmp_path / f'worker{index}'}", *extra]
    log = open(tmp_path / f"worker{index}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "taskhub", *args], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)


def _running_trial_of(url: str, pid: int) -> int | None:
    """The number of the trial worker ``pid`` runs, once some trial of the study has finished."""
    study = _study(url, "shared")
    trials = study.get_trials(deepcopy=False) if study else []
    if not any(t.state in FINISHED for t in trials):
        return None
    return next((t.number for t in trials if t.state == optuna.trial.TrialState.RUNNING
                 and t.user_attrs.get("worker", "").endswith(f":{pid}")), None)


@pytest.mark.slow
def test_two_workers_one_killed_share_a_study(tmp_path, postgres_url, capsys):
    first = _worker(tmp_path, postgres_url, 1)
    second = _worker(tmp_path, postgres_url, 2)
    try:
        # Kill worker 1 (no cleanup at all, like a lost machine) while it runs a trial, once a
        # trial has finished somewhere. The worker is frozen before the last look at its trial, so
        # the trial cannot finish between that look and the kill.
        deadline, victim = time.monotonic() + 300, None
        while victim is None and first.poll() is None and time.monotonic() < deadline:
            if (candidate := _running_trial_of(postgres_url, first.pid)) is not None:
                os.killpg(first.pid, signal.SIGSTOP)
                if _running_trial_of(postgres_url, first.pid) == candidate:
                    victim = candidate
                else:
                    os.killpg(first.pid, signal.SIGCONT)
            time.sleep(0.1)
        assert victim is not None, (tmp_path / "worker1.log").read_text()[-3000:]
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        assert second.wait(timeout=400) == 0, (tmp_path / "worker2.log").read_text()[-3000:]
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    study = _study(postgres_url, "shared")
    trials = study.get_trials()
    assert len([t for t in trials if t.state in FINISHED]) == 4  # exactly n_trials, over both workers
    assert not [t for t in trials if t.state in (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)]
    killed = trials[victim]
    assert killed.state == optuna.trial.TrialState.FAIL
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == victim]
    assert len(retry) == 1 and retry[0].params == killed.params and retry[0].state == optuna.trial.TrialState.COMPLETE
    assert retry[0].user_attrs["worker"].endswith(f":{second.pid}")
    # Both workers ran trials: the first before it died, the second the rest.
    workers = {t.user_attrs["worker"].rsplit(":", 1)[1] for t in trials}
    assert workers == {str(first.pid), str(second.pid)}

    # The report reads the study from the database: every worker's trials, the dead one's named.
    capsys.readouterr()
    assert main(["sweep", "report", "--storage", postgres_url, "--study", "shared", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert f"study shared: 4 complete, 1 fail" in out
    assert f"trial {victim} failed: its worker" in out
    assert f"best: trial {study.best_trial.number} val/accuracy={study.best_value:.4f}" in out
    assert (tmp_path / "report" / "optimization_history.png").stat().st_size > 0
    assert main(["sweep", "report", "--storage", postgres_url, "--study", "nope"]) == 2
    assert "studies there: shared" in capsys.readouterr().err


def test_pruning_compares_with_other_workers_trials(postgres_url, tiny, tmp_path):
    """Worker 2 has no finished trial of its own; the median pruner still cuts its hopeless trial
    against worker 1's."""
    common = [*tiny, "trainer.num_threads=1", "sweep=optuna", f"sweep.storage={postgres_url}",
              "sweep.study_name=pruned", "sweep.pruner=median", "sweep.pruner_args={n_startup_trials:1,n_warmup_steps:0}"]
    taskhub.run("vision", [*common, "sweep.n_trials=1", "optimizer.lr=interval(0.003,0.004)",
                           f"hydra.sweep.dir={tmp_path / 'w1'}"], multirun=True)
    taskhub.run("vision", [*common, "sweep.n_trials=2", "optimizer.lr=interval(40.0,60.0)",
                           f"hydra.sweep.dir={tmp_path / 'w2'}"], multirun=True)
    trials = _study(postgres_url, "pruned").get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED]
    assert trials[1].params["optimizer.lr"] >= 40 and (tmp_path / "w2" / "1").is_dir()
    assert not (tmp_path / "w2" / "0").exists()  # worker 2 ran only its own trial


def test_workers_opening_a_new_study_database_together_all_succeed(postgres_url):
    """Optuna creates its tables on a storage's first connection; workers started at the same moment
    (a job array, two machines) must not fail on each other's CREATE TABLE (PostgreSQL's duplicate
    key on pg_type), which bench/parallel_sweep.py hit with two workers."""
    import threading

    from taskhub_sweep.study import normalize_url, open_storage

    url = normalize_url(postgres_url)
    start, errors = threading.Barrier(6), []

    def open_one() -> None:
        start.wait()
        try:
            open_storage(url)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows which
            errors.append(exc)

    workers = [threading.Thread(target=open_one) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors


def test_unreachable_storage_is_one_line(tmp_path, capsys):
    from pg_server import free_port

    url = f"postgresql://taskhub@127.0.0.1:{free_port()}/nope"
    assert main(["run", "-m", "task=vision", "sweep=optuna", "sweep.n_trials=1", f"sweep.storage={url}",
                 "optimizer.lr=interval(0.001,0.01)", f"hydra.sweep.dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert f"sweep.storage={url}" in err or "sweep.storage=postgresql" in err
    assert "cannot open the study storage" in err and "Traceback" not in err
