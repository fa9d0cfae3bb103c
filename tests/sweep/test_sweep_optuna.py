"""sweep=optuna: a real search on the built-in vision data, pruning, failures, report and promote."""
from __future__ import annotations

from conftest import TINY  # this folder's conftest: importable while pytest collects this module

import json
from pathlib import Path

import optuna
import pytest
import yaml

import taskhub
from taskhub.cli import main
from taskhub.testing import run_task
from taskhub_sweep.report import experiment_dir

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def _study(sweep_dir: Path) -> optuna.Study:
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    return optuna.load_study(study_name=meta["study_name"], storage=meta["storage"])


@pytest.fixture(scope="module")
def searched(tmp_path_factory) -> Path:
    """One small TPE search shared by the tests that read its results."""

    sweep_dir = tmp_path_factory.mktemp("optuna") / "sweep"
    taskhub.run("vision", [*TINY, "sweep=optuna", "sweep.n_trials=3", "sweep.pruner=none",
                           "optimizer.lr=tag(log, interval(1e-4, 1.0))", f"hydra.sweep.dir={sweep_dir}"],
                multirun=True)
    return sweep_dir


def test_sweep_optuna_searches(searched):
    study = _study(searched)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 3
    assert len({t.params["optimizer.lr"] for t in trials}) == 3  # trials differ
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE  # vision's val/accuracy
    summary = json.loads((searched / "sweep_summary.json").read_text())
    assert summary["best"]["value"] == pytest.approx(study.best_value)
    assert summary["best"]["run"] == str(study.best_trial.number)  # run dir = trial number
    config = yaml.safe_load((searched / summary["best"]["run"] / ".hydra" / "config.yaml").read_text())
    assert config["optimizer"]["lr"] == pytest.approx(study.best_params["optimizer.lr"])


def test_sweep_prunes_bad_trial_and_records_failure(tmp_path, tiny):
    """Trials run in the enqueued order: good lr, an invalid lr (fails), a huge lr (pruned by the median)."""
    sweep_dir = tmp_path / "sweep"
    taskhub.run("vision", [*tiny, "sweep=optuna", "sweep.n_trials=2", "sweep.pruner=median",
                           "sweep.pruner_args={n_startup_trials:1,n_warmup_steps:0}",
                           "sweep.enqueue=[{optimizer.lr:0.003},{optimizer.lr:-1.0},{optimizer.lr:50.0}]",
                           "optimizer.lr=choice(0.003,-1.0,50.0)", f"hydra.sweep.dir={sweep_dir}"], multirun=True)
    trials = _study(sweep_dir).get_trials()
    states = {t.params["optimizer.lr"]: t.state for t in trials}
    assert states == {0.003: optuna.trial.TrialState.COMPLETE, -1.0: optuna.trial.TrialState.FAIL,
                      50.0: optuna.trial.TrialState.PRUNED}
    failed = next(t for t in trials if t.state == optuna.trial.TrialState.FAIL)
    assert "Invalid learning rate" in failed.user_attrs["error"]
    assert "Invalid learning rate" in (sweep_dir / str(failed.number) / "error.txt").read_text()
    pruned = next(t for t in trials if t.state == optuna.trial.TrialState.PRUNED)
    assert json.loads((sweep_dir / str(pruned.number) / "summary.json").read_text())["epochs"] == 1
    rows = {r["run"]: r for r in json.loads((sweep_dir / "sweep_summary.json").read_text())["runs"]}
    assert rows[str(failed.number)]["status"] == "failed" and "Invalid learning rate" in rows[str(failed.number)]["error"]
    assert rows[str(pruned.number)]["status"] == "pruned"


def test_sweep_report_and_promote(searched, tmp_path, capsys, monkeypatch):
    # Promoted into ./configs/experiment of the working directory, where experiment=NAME finds it.
    monkeypatch.chdir(tmp_path)
    name = f"test_promoted_{tmp_path.name}"
    promoted = experiment_dir() / f"{name}.yaml"
    assert promoted == tmp_path / "configs" / "experiment" / f"{name}.yaml"
    try:
        assert main(["sweep", "report", str(searched), "--promote", name]) == 0
        best = _study(searched).best_trial
        assert f"best: run {best.number}" in capsys.readouterr().out
        for png in ("optimization_history.png", "parallel_coordinate.png"):
            assert (searched / png).stat().st_size > 0
        assert "optimizer.lr" in json.loads((searched / "param_importances.json").read_text())
        experiment = yaml.safe_load(promoted.read_text())
        assert experiment["optimizer"]["lr"] == pytest.approx(best.params["optimizer.lr"])
        assert {"override /model": "mlp"} in experiment["defaults"]
        run_dir = tmp_path / "promoted"
        run_task("vision", run_dir, f"experiment={name}", "trainer.max_epochs=1")
        config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
        assert config["optimizer"]["lr"] == pytest.approx(best.params["optimizer.lr"])
        assert config["model"]["_target_"].endswith("mlp") or "mlp" in json.dumps(config["model"]).lower()
    finally:
        promoted.unlink(missing_ok=True)


def test_sweep_report_unknown_dir(tmp_path, capsys):
    assert main(["sweep", "report", str(tmp_path / "nope")]) == 2
    assert "no such sweep directory" in capsys.readouterr().err
