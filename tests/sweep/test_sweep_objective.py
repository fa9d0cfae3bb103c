"""The objective a sweep optimises is the one its runs optimise (``taskhub.objective``, one rule).

A tabular regression used to be swept to *maximise* RMSE: the sweeper read the class-level
objective (``val/accuracy``, max) while the run resolved the instance's (``val/rmse``, min), and
the median pruner then cut the good trials.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from omegaconf import OmegaConf

import taskhub


def _regression_csv(path: Path, n: int = 400) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (n, 2))
    frame = pd.DataFrame({"a": x[:, 0] * 10 + 50, "b": x[:, 1], "y": 30 * x[:, 0] - 20 * x[:, 1] + rng.normal(0, 1, n)})
    frame.to_csv(path, index=False)
    return path


def test_objective_honours_monitor_mode_and_config():
    cfg = OmegaConf.create({"task": {"name": "tabular", "kind": "regression"}, "trainer": {}})
    assert taskhub.objective(cfg) == ("val/rmse", "min")
    cfg.task.kind = "classification"
    assert taskhub.objective(cfg) == ("val/accuracy", "max")
    cfg.trainer.monitor = "val/loss"
    assert taskhub.objective(cfg) == ("val/loss", "min")
    cfg.trainer = {"monitor": "val/r2", "mode": "max"}
    assert taskhub.objective(cfg) == ("val/r2", "max")
    cfg.trainer = {"mode": "up"}
    with pytest.raises(taskhub.UserError, match="trainer.mode=up"):
        taskhub.objective(cfg)


def test_regression_sweep_minimises_rmse(tmp_path):
    """Enqueued: a good lr, a hopeless one (the median pruner must cut it), a fast one."""
    csv = _regression_csv(tmp_path / "reg.csv")
    sweep_dir = tmp_path / "sweep"
    taskhub.run("tabular", ["dataset=csv", f"dataset.train={csv}", "dataset.label=y", "trainer.max_epochs=3",
                            "trainer.device=cpu", "trainer.progress=none", "trainer.num_threads=1",
                            "sweep=optuna", "sweep.n_trials=3", "sweep.pruner=median",
                            "sweep.pruner_args={n_startup_trials:1,n_warmup_steps:0}",
                            "sweep.enqueue=[{optimizer.lr:0.01},{optimizer.lr:0.000001},{optimizer.lr:0.03}]",
                            "optimizer.lr=choice(0.01,0.000001,0.03)", f"hydra.sweep.dir={sweep_dir}"], multirun=True)
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    assert (meta["objective"], meta["direction"]) == ("val/rmse", "minimize")
    study = optuna.load_study(study_name=meta["study_name"], storage=meta["storage"])
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    states = {t.params["optimizer.lr"]: t.state for t in study.trials}
    assert states[0.01] == optuna.trial.TrialState.COMPLETE
    assert states[0.000001] == optuna.trial.TrialState.PRUNED  # worse than the median: cut after epoch 1
    rmse = {}
    for t in study.trials:
        summary = json.loads((sweep_dir / str(t.number) / "summary.json").read_text())
        assert summary["objective"]["name"] == "val/rmse"
        rmse[t.number] = summary["val/rmse"]
    assert study.best_trial.number == min(rmse, key=rmse.get)  # the lowest val/rmse of every run
    assert study.best_value == pytest.approx(min(rmse.values()))
    assert json.loads((sweep_dir / "sweep_summary.json").read_text())["best"]["run"] == str(study.best_trial.number)
