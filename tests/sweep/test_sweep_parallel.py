"""Parallel trials (sweep.n_jobs) and the joblib launcher config: processes, shared CPU threads."""
from __future__ import annotations

import json

import optuna
import pytest
import yaml

import taskhub
from taskhub_sweep.hydra_sweeper import cpu_count


@pytest.mark.slow
def test_sweep_n_jobs_share_threads(tmp_path, tiny):
    sweep_dir = tmp_path / "sweep"
    taskhub.run("vision", [*tiny, "sweep=optuna", "sweep.n_trials=2", "sweep.n_jobs=2",
                           "optimizer.lr=tag(log, interval(1e-4, 1e-1))", f"hydra.sweep.dir={sweep_dir}"], multirun=True)
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    study = optuna.load_study(study_name=meta["study_name"], storage=meta["storage"])
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 2
    for t in trials:
        config = yaml.safe_load((sweep_dir / str(t.number) / ".hydra" / "config.yaml").read_text())
        assert config["trainer"]["num_threads"] == max(1, cpu_count() // 2)


@pytest.mark.slow
def test_sweep_grid_with_joblib_launcher(tmp_path, tiny):
    sweep_dir = tmp_path / "grid"
    taskhub.run("vision", [*tiny, "trainer.max_epochs=1", "trainer.num_threads=1", "hydra/launcher=taskhub_joblib",
                           "optimizer.lr=1e-3,1e-2", f"hydra.sweep.dir={sweep_dir}"], multirun=True)
    summary = json.loads((sweep_dir / "sweep_summary.json").read_text())
    assert [r["status"] for r in summary["runs"]] == ["ok", "ok"]
