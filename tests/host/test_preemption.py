"""Mid-epoch checkpoints (trainer.checkpoint_every) and SIGTERM resume exactly where they stopped."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from taskhub.engine import checkpoint, preemption
from taskhub.errors import UserError
from taskhub.testing import run_task

# Dropout and a random flip (so the DataLoader path, whose replay must redraw the same numbers):
# 480 training images / 32 = 15 steps an epoch.
ARGS = ("dataset.num_samples=600", "model=mlp", "model.dropout=0.3", "dataset.batch_size=32",
        "trainer.num_threads=1", "dataset.augment=[{_target_:torchvision.transforms.v2.RandomHorizontalFlip}]")
TEST_KEYS = ("test/accuracy", "test/f1_macro", "test/loss")


class Killed(BaseException):
    """Stands in for SIGKILL."""


def same_weights(a, b):
    return all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("straight")
    summary = run_task("vision", run_dir, *ARGS, "trainer.max_epochs=2")
    return summary, checkpoint.load(run_dir / "checkpoints" / "last.pt")


def test_mid_epoch_checkpoint_resumes_mid_epoch_exactly(tmp_path, monkeypatch, straight):
    original = preemption.StepCheckpoints._save
    seen = []

    def save_then_die(self):
        path = original(self)
        seen.append(checkpoint.load(path)["partial"])
        if self.run.global_step == 20:  # epoch 2, step 5 of 15
            raise Killed
        return path

    run_dir = tmp_path / "run"
    monkeypatch.setattr(preemption.StepCheckpoints, "_save", save_then_die)
    with pytest.raises(Killed):
        run_task("vision", run_dir, *ARGS, "trainer.max_epochs=2", "trainer.checkpoint_every=4")
    monkeypatch.undo()
    assert [(p["epoch"], p["step"]) for p in seen] == [(1, 4), (1, 8), (1, 12), (2, 1), (2, 5)]
    last = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert last["epoch"] == 1 and last["global_step"] == 20 and last["partial"]["step"] == 5

    resumed = run_task("vision", run_dir, *ARGS, "trainer.max_epochs=2", "trainer.resume=auto")
    summary, final = straight
    for key in TEST_KEYS:
        assert resumed[key] == pytest.approx(summary[key], abs=1e-6)
    done = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert done["global_step"] == final["global_step"] == 30 and done["partial"] is None
    assert same_weights(done["model"], final["model"])
    assert done["history"][-1]["train/loss"] == pytest.approx(final["history"][-1]["train/loss"], abs=1e-6)


@pytest.mark.parametrize("value, expected", [("500", (500, None)), (250, (250, None)), ("10m", (None, 600.0)),
                                             ("90s", (None, 90.0)), (None, (None, None))])
def test_checkpoint_every_reads_steps_or_a_duration(value, expected):
    assert preemption.parse_every(value) == expected


@pytest.mark.parametrize("value", ["0", "-3", "soon", True])
def test_checkpoint_every_bad_values_are_one_line(value):
    with pytest.raises(UserError, match="trainer.checkpoint_every="):
        preemption.parse_every(value)


@pytest.mark.slow
def test_sigterm_saves_exits_75_and_resume_gives_the_same_result(tmp_path):
    """A real process, SIGTERM in the middle of epoch 2 of 2; resume in this process."""
    run_dir = tmp_path / "run"
    # 1200 training images / 8 = 150 steps an epoch; checkpoint_every=20 shows when epoch 2 is under way.
    args = ("dataset.num_samples=1500", "model=mlp", "model.dropout=0.3", "dataset.batch_size=8",
            "trainer.num_threads=1", "trainer.max_epochs=2", "trainer.checkpoint_every=20")
    proc = subprocess.Popen([sys.executable, "-m", "taskhub", "run", "task=vision", f"hydra.run.dir={run_dir}",
                             "trainer.device=cpu", "trainer.progress=none", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last = run_dir / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if (checkpoint.load(last).get("partial") or {}).get("epoch") == 2:
                break
        except UserError:
            pass  # not written yet
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == preemption.EXIT_PREEMPTED == 75, err[-2000:]
    lines = [line for line in err.splitlines() if line.startswith("preempted (SIGTERM)")]
    assert len(lines) == 1 and "trainer.resume=auto" in lines[0]
    saved = checkpoint.load(last)
    assert saved["partial"]["epoch"] == 2 and saved["partial"]["step"] < 150  # mid-epoch 2

    resumed = run_task("vision", run_dir, *args, "trainer.resume=auto")
    straight = run_task("vision", tmp_path / "straight", *args)
    for key in TEST_KEYS:
        assert resumed[key] == pytest.approx(straight[key], abs=1e-6)
    assert same_weights(checkpoint.load(last)["model"],
                        checkpoint.load(tmp_path / "straight" / "checkpoints" / "last.pt")["model"])


def test_checkpoint_every_duration_writes_inside_the_epoch(tmp_path, monkeypatch):
    original = preemption.StepCheckpoints._save
    steps = []

    def spy(self):
        steps.append(self.run.state["_partial"]["step"])
        return original(self)

    monkeypatch.setattr(preemption.StepCheckpoints, "_save", spy)
    run_task("vision", tmp_path / "run", *ARGS[:4], "trainer.max_epochs=1", "trainer.checkpoint_every=0.001s")
    assert steps == list(range(1, 15))  # every step but the last (the epoch end writes that one)
