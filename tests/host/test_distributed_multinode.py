"""Two "nodes" on this machine: two torchrun launches with ``--nnodes=2``, one process each, gloo,
c10d rendezvous on 127.0.0.1 (what a cluster runs, one launch per machine).

One run directory written by global rank 0, each node training on its half of the same split,
samples counted over both; one node killed mid-training (SIGKILL: a lost machine) and both
relaunched with ``trainer.resume=auto``; nodes launched with different overrides stop with one line.
"""
from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taskhub.engine import checkpoint
from taskhub.testing import read_summary

pytestmark = pytest.mark.slow
TORCHRUN = Path(sys.executable).with_name("torchrun")
# 960 training images; per node 480 -> 15 batches of 32 per epoch.
TRAIN = ["task=vision", "model=mlp", "dataset.num_samples=1200", "dataset.batch_size=32", "trainer.device=cpu",
         "trainer.progress=none", "trainer.num_threads=1", "seed=3"]


def _port() -> int:
    from test_distributed import free_port

    return free_port()


def _node(tmp_path: Path, name: str, port: int, *overrides: str) -> subprocess.Popen:
    torchrun = str(TORCHRUN) if TORCHRUN.exists() else shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    cmd = [torchrun, "--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}",
           f"--rdzv-id=taskhub-{port}", "--max-restarts=0", "-m", "taskhub", "run", *TRAIN, *overrides]
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen(cmd, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def _wait(nodes: list[subprocess.Popen], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    try:
        return [node.wait(timeout=max(1.0, deadline - time.monotonic())) for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()


def _log(tmp_path: Path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text()


def test_two_nodes_train_and_resume_after_one_is_killed(tmp_path):
    run_dir = tmp_path / "run"
    port = _port()
    args = [f"hydra.run.dir={run_dir}", "trainer.max_epochs=8"]
    nodes = [_node(tmp_path, "a", port, *args), _node(tmp_path, "b", port, *args)]
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "checkpoints" / "last.pt").is_file():  # an epoch is done and saved
            assert time.monotonic() < deadline and all(n.poll() is None for n in nodes), _log(tmp_path, "a")[-3000:]
            time.sleep(0.1)
        os.killpg(nodes[1].pid, signal.SIGKILL)  # node b is gone: no signal handler, no checkpoint of its own
        nodes[1].wait()
        assert nodes[0].wait(timeout=120) != 0  # the survivor's collectives fail: it stops, it does not hang
    finally:
        _wait(nodes, 1)
    stopped_at = checkpoint.load(run_dir / "checkpoints" / "last.pt")["epoch"]
    assert 1 <= stopped_at < 8

    port = _port()
    again = [*args, "trainer.resume=auto"]
    codes = _wait([_node(tmp_path, "a2", port, *again), _node(tmp_path, "b2", port, *again)], 400)
    assert codes == [0, 0], _log(tmp_path, "a2")[-3000:] + _log(tmp_path, "b2")[-3000:]
    assert "resuming from" in _log(tmp_path, "a2") + _log(tmp_path, "b2")
    summary = read_summary(run_dir)
    assert summary["world_size"] == 2 and summary["epochs"] == 8
    ckpt = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert ckpt["global_step"] == 8 * 15  # each node took its half of the 960 training images every epoch
    with open(run_dir / "metrics.csv") as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs[-1] == 8 and sorted(set(epochs)) == list(range(1, 9))
    # One run directory, written by global rank 0 alone: one Hydra log and one .hydra folder.
    assert sorted(p.name for p in run_dir.glob("*.log")) == ["launch.log"]
    assert (run_dir / ".hydra" / "config.yaml").is_file()


def test_nodes_with_different_configs_stop_with_one_line(tmp_path):
    port = _port()
    run_dir = tmp_path / "run"
    codes = _wait([_node(tmp_path, "a", port, f"hydra.run.dir={run_dir}", "optimizer.lr=0.001"),
                   _node(tmp_path, "b", port, f"hydra.run.dir={run_dir}", "optimizer.lr=0.002")], 300)
    assert codes[0] != 0 and codes[1] != 0
    for name in ("a", "b"):
        errors = [line for line in _log(tmp_path, name).splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, _log(tmp_path, name)[-3000:]
        assert "disagree on the config" in errors[0] and "optimizer.lr=0.00" in errors[0]
    assert not (run_dir / "checkpoints").exists()
