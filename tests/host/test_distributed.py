"""DDP under torchrun, on the CPU with gloo and two processes: each trains on its shard, rank 0 writes."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from taskhub.engine import checkpoint
from taskhub.testing import read_summary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_gloo_training(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists() and not shutil.which("torchrun"):
        pytest.skip("torchrun is not installed")
    run_dir = tmp_path / "ddp"
    cmd = [str(torchrun if torchrun.exists() else "torchrun"), "--nproc_per_node=2", f"--master_port={free_port()}",
           "-m", "taskhub", "run", "task=vision", "model=mlp", "dataset.num_samples=600", "dataset.batch_size=32",
           "trainer.max_epochs=2", "trainer.device=cpu", "trainer.progress=none", f"hydra.run.dir={run_dir}"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                            env={**os.environ, "MASTER_ADDR": "127.0.0.1"})
    assert result.returncode == 0, result.stderr[-3000:]
    summary = read_summary(run_dir)
    assert summary["world_size"] == 2 and summary["epochs"] == 2
    ckpt = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    # 480 training samples split over 2 processes -> 240 each -> 8 batches of 32 per epoch.
    assert ckpt["global_step"] == 16
    assert summary["samples_per_second"] > 0


def test_torchrun_without_run_dir_is_refused(tmp_path, monkeypatch, capsys):
    from taskhub.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["run", "task=vision"]) == 2
    assert "hydra.run.dir" in capsys.readouterr().err


def test_config_compared_across_nodes_leaves_out_local_settings():
    """What rank 0 broadcasts a hash of: the resolved config, without the settings nodes may differ in."""
    from omegaconf import OmegaConf

    from taskhub.engine.distributed import flat_config

    cfg = OmegaConf.create({"seed": 3, "optimizer": {"lr": 0.01}, "dataset": {"root": "/a", "seed": "${seed}",
                            "num_workers": 4}, "trainer": {"num_threads": 8, "max_epochs": 2}})
    other = OmegaConf.create({**OmegaConf.to_container(cfg), "dataset": {"root": "/b", "seed": "${seed}",
                              "num_workers": 0}, "trainer": {"num_threads": 1, "max_epochs": 2}})
    assert flat_config(cfg) == flat_config(other)
    assert flat_config(cfg)["dataset.seed"] == "3"  # resolved
    other.optimizer.lr = 0.02
    assert flat_config(cfg)["optimizer.lr"] != flat_config(other)["optimizer.lr"]
