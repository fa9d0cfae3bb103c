"""Never a wrong result after a crash: kills at each checkpoint write, the run-dir lock, write errors,
settings that cannot train, resuming another model, stale temporaries, samples per second."""
from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys

import pytest
import torch

from taskhub.cli import main
from taskhub.engine import checkpoint
from taskhub.errors import UserError
from taskhub.testing import run_task

# The learning rate peaks at epoch 2 (cosine with eta_min above the base rate, period 2 epochs) and
# the monitor is the rate: epoch 2 is the best of 3, so a resumed run must test epoch 2's weights.
ARGS = ("dataset.num_samples=600", "model=mlp", "dataset.batch_size=32", "trainer.num_threads=1",
        "scheduler=cosine", "scheduler.T_max=1", "scheduler.interval=epoch", "scheduler.eta_min=0.01",
        "optimizer.lr=0.001", "trainer.monitor=lr", "trainer.mode=max", "trainer.early_stopping.patience=null")
TEST_KEYS = ("test/accuracy", "test/f1_macro", "test/loss")


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs (not even except-Exception handlers)."""


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("straight")
    summary = run_task("vision", run_dir, *ARGS, "trainer.max_epochs=3")
    assert summary["best_epoch"] == 2
    return summary, checkpoint.load(run_dir / "checkpoints" / "last.pt")["model"]


@pytest.mark.parametrize("point", ["writing last.pt", "between last.pt and best.pt", "after best.pt"])
def test_a_kill_at_each_checkpoint_write_then_resume_gives_the_uninterrupted_result(tmp_path, monkeypatch, straight,
                                                                                    point):
    original = checkpoint.write

    def write(data, path):
        if data.get("epoch") != 2 or data.get("partial"):
            return original(data, path)
        if point == "writing last.pt" and path.name == "last.pt":
            path.with_name(".last.pt.tmp").write_bytes(b"half a checkpoint")
            raise Killed
        if point == "between last.pt and best.pt" and path.name == "best.pt":
            raise Killed
        result = original(data, path)
        if point == "after best.pt" and path.name == "best.pt":
            raise Killed
        return result

    run_dir = tmp_path / "run"
    monkeypatch.setattr(checkpoint, "write", write)
    with pytest.raises(Killed):
        run_task("vision", run_dir, *ARGS, "trainer.max_epochs=3")
    monkeypatch.undo()
    last = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    if point == "between last.pt and best.pt":  # the pair the kill left disagrees
        assert last["best_epoch"] == 2 and checkpoint.load(run_dir / "checkpoints" / "best.pt")["epoch"] == 1

    resumed = run_task("vision", run_dir, *ARGS, "trainer.max_epochs=3", "trainer.resume=auto")
    summary, weights = straight
    assert resumed["best_epoch"] == 2
    for key in TEST_KEYS:
        assert resumed[key] == pytest.approx(summary[key], abs=1e-6)
    for name, tensor in checkpoint.load(run_dir / "checkpoints" / "last.pt")["model"].items():
        assert torch.allclose(tensor, weights[name], atol=1e-6), name
    assert checkpoint.load(run_dir / "checkpoints" / "best.pt")["epoch"] == 2
    assert not list((run_dir / "checkpoints").glob(".*.tmp"))  # the half-written file is gone
    # samples per second: this run's samples over this run's seconds
    trained = (3 - last["epoch"]) * 480
    assert resumed["samples_per_second"] * resumed["train_seconds"] == pytest.approx(trained, rel=0.05)


@pytest.mark.slow
def test_a_real_kill_between_the_writes(tmp_path, straight):
    """SIGKILL in a real process right after epoch 2's last.pt is written, then resume."""
    run_dir = tmp_path / "run"
    code = (
        "import os, signal, sys\n"
        "from taskhub.engine import checkpoint\n"
        "original = checkpoint.write\n"
        "def write(data, path):\n"
        "    result = original(data, path)\n"
        "    if data.get('epoch') == 2 and path.name == 'last.pt':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return result\n"
        "checkpoint.write = write\n"
        "from taskhub.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = ["run", "task=vision", f"hydra.run.dir={run_dir}", "trainer.device=cpu", "trainer.progress=none", *ARGS,
            "trainer.max_epochs=3"]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert (run_dir / ".taskhub.lock").exists()  # left behind by the killed process: taken over below
    resumed = run_task("vision", run_dir, *ARGS, "trainer.max_epochs=3", "trainer.resume=auto")
    for key in TEST_KEYS:
        assert resumed[key] == pytest.approx(straight[0][key], abs=1e-6)
    assert not (run_dir / ".taskhub.lock").exists()


def test_resume_refuses_when_the_best_weights_are_gone(tmp_path):
    run_dir = tmp_path / "run"
    run_task("vision", run_dir, *ARGS, "trainer.max_epochs=3")
    (run_dir / "checkpoints" / "best.pt").unlink()
    with pytest.raises(UserError, match="says epoch 2 was the best, but .*best.pt is missing"):
        run_task("vision", run_dir, *ARGS, "trainer.max_epochs=4", "trainer.resume=auto")


def test_resume_with_another_model_names_the_setting(tmp_path):
    run_dir = tmp_path / "run"
    run_task("vision", run_dir, *ARGS, "trainer.max_epochs=1")
    with pytest.raises(UserError, match=r"model\.hidden=\[32\] \(the checkpoint has \[64\]\)"):
        run_task("vision", run_dir, *ARGS, "trainer.max_epochs=2", "trainer.resume=auto", "model.hidden=[32]")


def test_a_second_run_in_a_locked_run_dir_names_the_holder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run_dir / ".taskhub.lock").write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname()}))
        args = ["run", "task=vision", f"hydra.run.dir={run_dir}", "trainer.device=cpu", "trainer.progress=none",
                *ARGS, "trainer.max_epochs=1"]
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and f"in use by pid {holder.pid}" in err
        assert not (run_dir / ".hydra").exists()  # refused before Hydra wrote into it
    finally:
        holder.kill()
        holder.wait()
    assert main(args) == 0  # the holder is gone: its lock is stale and taken over


@pytest.mark.parametrize("epochs", ["0", "-1"])
def test_max_epochs_below_one_is_one_line(tmp_path, capsys, epochs):
    assert main(["run", "task=vision", f"hydra.run.dir={tmp_path}", f"trainer.max_epochs={epochs}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: trainer.max_epochs=") and "\n" not in err


@pytest.mark.parametrize("name", ["run", "run_${seed}"])  # a plain path (locked first) or one Hydra resolves
def test_run_dir_under_a_file_is_one_line(tmp_path, capsys, name):
    (tmp_path / "afile").write_text("x")
    assert main(["run", "task=vision", f"hydra.run.dir={tmp_path / 'afile' / name}", *ARGS]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "is a file" in err and str(tmp_path / "afile") in err


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     RuntimeError("[enforce fail at inline_container.cc:858] . unexpected pos 3707520 vs 3707412")])
def test_a_full_disk_is_one_line_naming_the_checkpoint(tmp_path, monkeypatch, capsys, failure):
    def full(*args, **kwargs):
        raise failure

    monkeypatch.setattr(torch, "save", full)
    run_dir = tmp_path / "run"
    assert main(["run", "task=vision", f"hydra.run.dir={run_dir}", "trainer.device=cpu", "trainer.progress=none",
                 *ARGS, "trainer.max_epochs=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "the disk is full" in err and str(run_dir / "checkpoints" / "last.pt") in err
    assert not list((run_dir / "checkpoints").glob(".*.tmp"))
