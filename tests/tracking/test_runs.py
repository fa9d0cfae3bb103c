"""``taskhub runs`` and ``taskhub runs diff`` on a folder of real runs and a sweep, including a
failed run, a killed one, one still running, and a run from before manifests existed."""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys

import pytest

import taskhub
from taskhub.cli import main
from taskhub.plugins import get_host
from taskhub.testing import run_task
from tracking_helpers import TINY


class FailsInEpoch:
    @taskhub.hookimpl
    def on_epoch_end(self, run, epoch, metrics):
        raise RuntimeError("out of luck")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("workspace")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        make_runs(root)
    return root


def make_runs(root):
    runs, sweeps = root / "runs", root / "multiruns"
    run_task("vision", runs / "vision" / "a", *TINY)
    run_task("tabular", runs / "tabular" / "b", "dataset.num_samples=400", "trainer.max_epochs=2")
    taskhub.run("vision", [*TINY, "optimizer.lr=0.001,0.02", f"hydra.sweep.dir={sweeps / 'vision' / 'sweep'}",
                           "trainer.device=cpu", "trainer.progress=none"], multirun=True)
    get_host().pm.register(FailsInEpoch(), name="fails")
    try:
        with pytest.raises(RuntimeError):
            run_task("vision", runs / "vision" / "failed", *TINY)
    finally:
        get_host().pm.unregister(name="fails")
    # A run from before manifests: only .hydra/, metrics.csv, checkpoints and summary.json.
    shutil.copytree(runs / "vision" / "a", runs / "vision" / "old")
    (runs / "vision" / "old" / "manifest.json").unlink()


def as_json(capsys, *args: str) -> list[dict]:
    assert main(["runs", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def by_name(records: list[dict]) -> dict[str, dict]:
    names = {}
    for r in records:
        parts = r["run"].split("/")
        names["/".join(parts[-2:]) if parts[-1].isdigit() else parts[-1]] = r
    return names


def test_table_of_runs_and_sweep(root, capsys, monkeypatch):
    monkeypatch.chdir(root)  # default folders: runs/ and multiruns/
    records = by_name(as_json(capsys))
    assert set(records) == {"a", "b", "failed", "old", "sweep/0", "sweep/1"}
    a = records["a"]
    assert (a["task"], a["model"], a["dataset"], a["status"], a["epochs"], a["max_epochs"]) == \
        ("vision", "mlp", "shapes", "finished", 2, 2)
    assert a["objective"]["name"] == "val/accuracy" and 0.0 < a["train_seconds"]
    assert a["metrics"]["test/accuracy"] == json.loads((root / "runs/vision/a/summary.json").read_text())["test/accuracy"]
    assert records["b"]["task"] == "tabular"
    assert records["failed"]["status"] == "failed" and records["failed"]["epochs"] in (0, None)
    old = records["old"]  # falls back to .hydra/ and summary.json
    assert not old["has_manifest"] and (old["task"], old["model"], old["dataset"], old["status"]) == \
        ("vision", "mlp", "shapes", "finished")
    assert records["sweep/1"]["status"] == "finished"
    assert main(["runs"]) == 0
    table = capsys.readouterr().out
    assert "6 runs" in table and "failed" in table and "sweep/1" in table and "test/accuracy" in table


def test_sort_filter_and_csv(root, capsys):
    vision = as_json(capsys, str(root / "runs"), str(root / "multiruns"), "--task", "vision",
                     "--sort", "test/accuracy")
    assert {r["task"] for r in vision} == {"vision"} and len(vision) == 5
    scores = [r["metrics"].get("test/accuracy") for r in vision]
    known = [s for s in scores if s is not None]
    assert known == sorted(known, reverse=True) and scores[-1] is None  # best first; the failed run last
    loss_first = as_json(capsys, str(root / "runs"), "--sort", "test/loss")
    losses = [r["metrics"]["test/loss"] for r in loss_first if "test/loss" in r["metrics"]]
    assert losses == sorted(losses)  # a loss: lowest first
    assert main(["runs", str(root / "runs"), "--csv", "--status", "finished"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["status"] for r in rows} == {"finished"} and {r["task"] for r in rows} == {"vision", "tabular"}
    assert rows[0]["test/accuracy"] != "" or rows[1]["test/accuracy"] != ""


def test_unknown_sort_key_is_one_line(root, capsys):
    assert main(["runs", str(root / "runs"), "--sort", "test/acuracy"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "did you mean 'test/accuracy'" in err


def test_running_and_killed_runs(root, tmp_path, capsys):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        for name, pid in (("running", live.pid), ("killed", dead.pid)):
            run_dir = tmp_path / name
            shutil.copytree(root / "runs" / "vision" / "a", run_dir)
            (run_dir / "summary.json").unlink()  # ended (or not yet) before testing
            manifest = json.loads((run_dir / "manifest.json").read_text())
            manifest.update(status="running", ended=None, pid=pid)
            (run_dir / "manifest.json").write_text(json.dumps(manifest))
        records = {r["run"].rsplit("/", 1)[-1]: r for r in as_json(capsys, str(tmp_path))}
        assert records["running"]["status"] == "running" and records["running"]["epochs"] == 2
        assert records["killed"]["status"] == "stopped"
    finally:
        live.kill()
        live.wait()
    assert {r["run"].rsplit("/", 1)[-1]: r["status"] for r in as_json(capsys, str(tmp_path))}["running"] == "stopped"


def test_diff_two_sweep_trials(root, capsys):
    a, b = root / "multiruns/vision/sweep/0", root / "multiruns/vision/sweep/1"
    assert main(["runs", "diff", str(a), str(b), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    config = {key: (va, vb) for key, va, vb in result["config"]}
    assert config["optimizer.lr"] == (0.001, 0.02)
    assert result["versions"] == [] and result["data"] == [] and result["manifests"] == []
    metrics = {key: (va, vb) for key, va, vb in result["metrics"]}
    summaries = [json.loads((d / "summary.json").read_text()) for d in (a, b)]
    assert metrics["test/accuracy"] == (summaries[0]["test/accuracy"], summaries[1]["test/accuracy"])
    assert main(["runs", "diff", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert "optimizer.lr" in text and "0.02" in text and "B - A" in text and "data fingerprints that differ: none" in text


def test_diff_with_a_run_from_before_manifests(root, capsys):
    assert main(["runs", "diff", str(root / "runs/vision/a"), str(root / "runs/vision/old")]) == 0
    text = capsys.readouterr().out
    assert "no manifest.json in B" in text and "config (resolved values that differ): none" in text
    assert main(["runs", "diff", str(root / "runs/vision/a"), str(root / "nowhere")]) == 2
    assert "not a run directory" in capsys.readouterr().err
