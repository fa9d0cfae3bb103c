"""The MLflow logger against a live MLflow tracking server (``mlflow server``, SQLite backend),
read back through MLflow's own client."""
from __future__ import annotations

import json

import pytest

import taskhub
from taskhub.cli import main
from taskhub.testing import run_task
from tracking_helpers import TINY, free_port, metrics_csv

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

pytestmark = pytest.mark.slow


def only_run(client: MlflowClient, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment}"
    return client.search_runs([exp.experiment_id])


def test_params_metrics_tags_artifacts_and_resume(mlflow_server, tmp_path):
    run_dir = tmp_path / "run"
    settings = ("logger=[csv,mlflow]", f"logger.mlflow.tracking_uri={mlflow_server}",
                "logger.mlflow.experiment=resume-test", "logger.mlflow.log_checkpoint=true")
    run_task("vision", run_dir, *TINY, *settings, "trainer.max_epochs=1")
    summary = run_task("vision", run_dir, *TINY, *settings, "trainer.max_epochs=2", "trainer.resume=auto")
    client = MlflowClient(mlflow_server)
    (logged,) = only_run(client, "resume-test")  # the resumed run continued the same MLflow run
    assert logged.info.status == "FINISHED" and logged.info.run_name == "run"
    params, tags = logged.data.params, logged.data.tags
    assert params["optimizer.lr"] == "0.001" and params["model._target_"].startswith("taskhub_vision")
    assert params["dataset.num_samples"] == "300" and params["trainer.max_epochs"] == "1"  # first value kept
    assert (tags["taskhub.task"], tags["taskhub.model"], tags["taskhub.dataset"]) == ("vision", "mlp", "shapes")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert tags["taskhub.data.train"] == f"240 examples, sha256 {manifest['data']['train']['sha256']}"
    assert tags["taskhub.torch"] == manifest["libraries"]["torch"]
    rows = metrics_csv(run_dir)
    history = client.get_metric_history(logged.info.run_id, "val/accuracy")
    assert [m.step for m in history] == [1, 2]
    assert [m.value for m in history] == pytest.approx([row["val/accuracy"] for row in rows])
    assert [m.step for m in client.get_metric_history(logged.info.run_id, "train/loss")] == [1, 2]
    assert logged.data.metrics["test/accuracy"] == pytest.approx(summary["test/accuracy"])
    top = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"summary.json", "manifest.json", "metrics.csv", "plots", "hydra", "checkpoints"} <= top
    assert {"plots/learning_curves.png", "plots/confusion_matrix.png"} <= \
        {a.path for a in client.list_artifacts(logged.info.run_id, "plots")}
    local = client.download_artifacts(logged.info.run_id, "summary.json", str(tmp_path))
    assert json.loads(open(local).read())["test/accuracy"] == summary["test/accuracy"]


def test_a_sweep_is_a_parent_run_with_its_trials_as_children(mlflow_server, tmp_path):
    sweep_dir = tmp_path / "sweep"
    taskhub.run("vision", [*TINY, "trainer.max_epochs=1", "optimizer.lr=0.001,0.01", "trainer.device=cpu",
                           "trainer.progress=none", f"hydra.sweep.dir={sweep_dir}", "logger=[csv,mlflow]",
                           f"logger.mlflow.tracking_uri={mlflow_server}", "logger.mlflow.experiment=sweep-test"],
                multirun=True)
    client = MlflowClient(mlflow_server)
    runs = only_run(client, "sweep-test")
    (parent,) = [r for r in runs if r.data.tags.get("taskhub.role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and len(children) == 2
    assert sorted(r.data.params["optimizer.lr"] for r in children) == ["0.001", "0.01"]
    assert sorted(r.info.run_name for r in children) == ["sweep/0", "sweep/1"]
    assert parent.info.status == "FINISHED" and all(r.info.status == "FINISHED" for r in children)
    assert "sweep_summary.json" in {a.path for a in client.list_artifacts(parent.info.run_id)}


def test_an_unreachable_server_fails_before_training_or_warns(tmp_path, capsys):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    args = ["run", "task=vision", *TINY, "trainer.max_epochs=1", "trainer.device=cpu", "trainer.progress=none",
            "logger=[csv,mlflow]", f"logger.mlflow.tracking_uri={dead}"]
    assert main([*args, f"hydra.run.dir={tmp_path / 'fails'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot reach MLflow at {dead}" in err[0] and "on_error=warn" in err[0]
    assert not (tmp_path / "fails" / "checkpoints").exists()
    assert (tmp_path / "fails" / ".hydra" / "config.yaml").is_file()  # the run's own files are kept
    assert main([*args, f"hydra.run.dir={tmp_path / 'warns'}", "logger.mlflow.on_error=warn"]) == 0
    out = capsys.readouterr()
    assert (out.out + out.err).count("training goes on without logger mlflow") == 1
    assert (tmp_path / "warns" / "summary.json").is_file() and (tmp_path / "warns" / "metrics.csv").is_file()


def test_default_tracking_uri_is_a_local_sqlite_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    summary = run_task("vision", tmp_path / "run", *TINY, "trainer.max_epochs=1", "logger=[csv,mlflow]")
    assert (tmp_path / "mlruns.db").is_file()
    (logged,) = only_run(MlflowClient("sqlite:///mlruns.db"), "taskhub-vision")
    assert logged.data.metrics["test/accuracy"] == pytest.approx(summary["test/accuracy"])
