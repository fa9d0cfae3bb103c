"""manifest.json in every run directory and inside each checkpoint: versions, device, git, seed,
data fingerprints; eval and predict warn when data or library major versions differ."""
from __future__ import annotations

import json
import logging
import subprocess

import pytest
import torch

import taskhub
from taskhub.cli import main
from taskhub.testing import run_task
from taskhub.tracking import environment
from taskhub.tracking.manifest import drift
from tracking_helpers import TINY


def git(cwd, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """The working directory is a git repository with one commit."""
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "train.py").write_text("print('hello')\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    monkeypatch.chdir(root)
    return root


def test_run_writes_the_manifest_and_checkpoints_carry_it(repo, tmp_path):
    summary = run_task("vision", tmp_path / "run", *TINY, "seed=null")
    run_dir = tmp_path / "run"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["started"] <= manifest["ended"]
    assert "trainer.max_epochs=2" in manifest["overrides"] and manifest["command"]
    assert manifest["taskhub"] == taskhub.__version__
    assert {"name": "vision", "module": "taskhub_vision"}.items() <= next(
        p for p in manifest["plugins"] if p["name"] == "vision").items()
    assert manifest["libraries"]["torch"] == torch.__version__.split("+")[0] or \
        manifest["libraries"]["torch"] == torch.__version__
    assert {"torchvision", "torchaudio", "numpy"} <= set(manifest["libraries"])
    assert manifest["device"]["type"] == "cpu" and manifest["device"]["torch_threads"] >= 1
    assert manifest["device"]["cpu"] and manifest["host"]["name"]
    # seed: null was chosen at random and recorded everywhere the same
    assert manifest["seed_source"] == "random" and isinstance(manifest["seed"], int)
    assert summary["seed"] == manifest["seed"]
    # the working directory's repository, clean
    assert manifest["git"]["commit"] == git(repo, "rev-parse", "HEAD") and manifest["git"]["dirty"] is False
    data = manifest["data"]
    assert {s: fp["examples"] for s, fp in data.items()} == {"train": 240, "val": 30, "test": 30}
    assert all(len(fp["sha256"]) == 64 for fp in data.values())
    assert manifest["config"]["trainer"]["max_epochs"] == 2
    for name in ("last.pt", "best.pt"):
        ckpt = torch.load(run_dir / "checkpoints" / name, weights_only=True)
        assert ckpt["manifest"]["data"] == data and ckpt["manifest"]["git"] == manifest["git"]
        assert ckpt["config"]["seed"] == manifest["seed"]


def test_git_dirty_and_outside_a_repository(repo, tmp_path):
    assert environment.git_info(repo)["dirty"] is False
    (repo / "train.py").write_text("print('changed')\n")
    assert environment.git_info(repo)["dirty"] is True
    (repo / "notes.txt").write_text("untracked files do not count\n")
    git(repo, "checkout", "-q", "train.py")
    assert environment.git_info(repo)["dirty"] is False
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert environment.git_info(outside) is None


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    run_task("vision", run_dir, *TINY)
    return run_dir


def _eval(capsys, ckpt, tmp_path, *overrides: str) -> str:
    code = main(["eval", f"ckpt={ckpt}", f"hydra.run.dir={tmp_path / 'eval'}", "trainer.device=cpu",
                 "trainer.progress=none", *overrides])
    assert code == 0
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_eval_warns_when_the_data_differ(trained, tmp_path, capsys):
    best = trained / "checkpoints" / "best.pt"
    same = _eval(capsys, best, tmp_path)
    assert "data differ" not in same
    assert json.loads((tmp_path / "eval" / "manifest.json").read_text())["mode"] == "eval"
    assert json.loads((tmp_path / "eval" / "manifest.json").read_text())["git"] is None  # outside a repository
    changed = _eval(capsys, best, tmp_path, "dataset.num_samples=400")
    lines = [line for line in changed.splitlines() if "data differ" in line]
    assert len(lines) == 1 and "test (30 -> 40 examples" in lines[0]


def test_predict_warns_about_major_versions(trained, tmp_path, caplog):
    ckpt = torch.load(trained / "checkpoints" / "best.pt", weights_only=True)
    ckpt["manifest"]["libraries"]["torch"] = "1.13.1"
    torch.save(ckpt, tmp_path / "old.pt")
    with caplog.at_level(logging.WARNING, logger="taskhub"):
        taskhub.load(tmp_path / "old.pt", device="cpu")
    warned = [r.getMessage() for r in caplog.records if "major versions" in r.getMessage()]
    assert len(warned) == 1 and f"torch 1.13.1 -> {environment.version_of('torch')}" in warned[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="taskhub"):
        taskhub.load(trained / "checkpoints" / "best.pt", device="cpu")
    assert not [r for r in caplog.records if "major versions" in r.getMessage()]


def test_drift_ignores_minor_versions_and_old_checkpoints():
    present = {"torch": "2.11.0", "numpy": "1.26.4"}
    assert drift({"libraries": {"torch": "2.3.0", "numpy": "1.24.0"}}, present) == []
    assert drift(None, present) == [] and drift({}, present) == []
    (line,) = drift({"libraries": {"numpy": "2.1.0"}}, present)
    assert "numpy 2.1.0 -> 1.26.4" in line
