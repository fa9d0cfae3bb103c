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
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taskhub.engine import checkpoint
from taskhub.testing import read_summary

pytestmark = pytest.mark.slow
EPOCHS = 40
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


def _listening(port: int, node: subprocess.Popen, timeout: float = 120) -> None:
    """Until ``node``'s torchrun hosts the rendezvous store on ``port``: the node launched first is
    the one whose agent binds the endpoint, so the test knows which node to kill."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and node.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the first node never listened on 127.0.0.1:{port}")


def _wait(nodes: list[subprocess.Popen], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    try:
        return [node.wait(timeout=max(1.0, deadline - time.monotonic())) for node in nodes]
    finally:
        _stop(nodes)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants: torchrun starts each worker in a session of its own, so killing
    the launch's process group would leave the worker training on."""
    try:
        children = [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except OSError:
        return [pid]
    return [pid] + [d for c in children for d in _tree(c)]


def _kill(node: subprocess.Popen) -> None:
    """A lost machine: its launcher and its workers die at once, no handler runs."""
    for pid in _tree(node.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    node.wait()


def _stop(nodes: list[subprocess.Popen]) -> None:
    for node in nodes:
        if node.poll() is None:
            _kill(node)
        node.wait()


def _log(tmp_path: Path, name: str) -> str:
    return (tmp_path / f"{name}.log").read_text()


def test_two_nodes_train_and_resume_after_one_is_killed(tmp_path):
    run_dir = tmp_path / "run"
    port = _port()
    # An epoch takes a fraction of a second here: 40 leave the kill after epoch 1 time to land.
    args = [f"hydra.run.dir={run_dir}", f"trainer.max_epochs={EPOCHS}"]
    # Node a hosts the rendezvous store (it binds the endpoint first) and b is the one lost: when
    # the store's own machine dies, torchrun's agent on the survivor waits out its store timeouts.
    nodes = [_node(tmp_path, "a", port, *args)]
    _listening(port, nodes[0])
    nodes.append(_node(tmp_path, "b", port, *args))
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "checkpoints" / "last.pt").is_file():  # an epoch is done and saved
            assert time.monotonic() < deadline and all(n.poll() is None for n in nodes), _log(tmp_path, "a")[-3000:]
            time.sleep(0.1)
        _kill(nodes[1])  # node b is gone: no signal handler, no checkpoint of its own
        try:
            code = nodes[0].wait(timeout=120)
        except subprocess.TimeoutExpired:
            raise AssertionError("the surviving node still runs 120 s after its peer was killed:\n"
                                 + _log(tmp_path, "a")[-3000:]) from None
        assert code != 0  # the survivor's collectives fail: it stops, it does not hang
    finally:
        _stop(nodes)
    stopped_at = checkpoint.load(run_dir / "checkpoints" / "last.pt")["epoch"]
    assert 1 <= stopped_at < EPOCHS

    port = _port()
    again = [*args, "trainer.resume=auto"]
    codes = _wait([_node(tmp_path, "a2", port, *again), _node(tmp_path, "b2", port, *again)], 400)
    assert codes == [0, 0], _log(tmp_path, "a2")[-3000:] + _log(tmp_path, "b2")[-3000:]
    assert "resuming from" in _log(tmp_path, "a2") + _log(tmp_path, "b2")
    summary = read_summary(run_dir)
    assert summary["world_size"] == 2 and summary["epochs"] == EPOCHS
    ckpt = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert ckpt["global_step"] == EPOCHS * 15  # each node took its half of the 960 training images every epoch
    with open(run_dir / "metrics.csv") as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs[-1] == EPOCHS and sorted(set(epochs)) == list(range(1, EPOCHS + 1))
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
