"""The engine: learning, checkpoints, resume, early stopping, batching, precision choices."""
from __future__ import annotations

import csv

import pytest
import torch

import taskhub

from taskhub.data import InMemoryDataset
from taskhub.engine import checkpoint
from taskhub.engine.batches import Batches
from taskhub.engine.device import autocast_dtype, pick_device
from taskhub.errors import UserError
from taskhub.testing import read_summary, run_task

SMALL = ("dataset.num_samples=600", "model=mlp", "dataset.batch_size=32")


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_resume_continues_where_it_stopped(tmp_path):
    first = tmp_path / "first"
    run_task("vision", first, *SMALL, "trainer.max_epochs=2")
    ckpt = checkpoint.load(first / "checkpoints" / "last.pt")
    assert ckpt["epoch"] == 2 and len(ckpt["optimizer"]["state"]) > 0

    # Continue the same run directory up to 4 epochs: epochs 3 and 4 only.
    summary = run_task("vision", first, *SMALL, "trainer.max_epochs=4", "trainer.resume=auto")
    rows = read_csv(first / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert summary["epochs"] == 4
    resumed = checkpoint.load(first / "checkpoints" / "last.pt")
    assert resumed["global_step"] == 2 * ckpt["global_step"]  # same number of steps per epoch, none repeated

    # Resuming from a path into a new directory gives the same result as the uninterrupted run.
    straight = tmp_path / "straight"
    run_task("vision", straight, *SMALL, "trainer.max_epochs=4")
    assert read_summary(straight)["test/accuracy"] == pytest.approx(summary["test/accuracy"], abs=1e-6)


def test_resume_of_a_finished_run_only_tests(tmp_path):
    run_task("vision", tmp_path / "a", *SMALL, "trainer.max_epochs=1")
    summary = run_task("vision", tmp_path / "b", *SMALL, "trainer.max_epochs=1",
                       f"trainer.resume={tmp_path / 'a' / 'checkpoints' / 'last.pt'}")
    assert summary["epochs"] == 1 and "test/accuracy" in summary


def test_early_stopping_stops_and_best_is_tested(tmp_path):
    # lr=0 never improves: patience 2 stops after epoch 1 + 2 epochs without improvement.
    summary = run_task("vision", tmp_path / "run", *SMALL, "optimizer.lr=0.0", "trainer.max_epochs=10",
                       "trainer.early_stopping.patience=2")
    assert summary["epochs"] == 3
    assert summary["best_epoch"] == 1


def test_gradient_accumulation_and_clipping_run(tmp_path):
    # Plain SGD at lr=1: an optimizer step moves the weights by exactly the (clipped) gradient norm.
    sgd = ("trainer.max_epochs=1", "trainer.accumulate_grad_batches=4", "optimizer=sgd", "optimizer.lr=1.0",
           "optimizer.momentum=0.0", "optimizer.nesterov=false")

    def moved(name: str, *extra: str) -> float:
        run_task("vision", tmp_path / name, *SMALL, *sgd, *extra)
        weights = checkpoint.load(tmp_path / name / "checkpoints" / "last.pt")["model"]
        return float(torch.sqrt(sum(((weights[k] - initial[k]).float() ** 2).sum() for k in initial)))

    run_task("vision", tmp_path / "initial", *SMALL, *sgd, "optimizer.lr=0.0")  # same seed: the initial weights
    initial = checkpoint.load(tmp_path / "initial" / "checkpoints" / "last.pt")["model"]
    clipped = moved("clipped", "trainer.gradient_clip_val=0.001")
    ckpt = checkpoint.load(tmp_path / "clipped" / "checkpoints" / "last.pt")
    assert ckpt["global_step"] == -(-15 // 4)  # 480 training samples / 32 = 15 batches -> 4 optimizer steps
    assert 0 < clipped <= 4 * 0.001 * 1.001  # each of the 4 steps moved the weights by at most the clip norm
    assert moved("unclipped") > 10 * clipped


def test_in_memory_batches_slice_without_loader():
    ds = InMemoryDataset({"x": torch.arange(10).float(), "y": torch.arange(10)})
    batches = Batches(ds, batch_size=4, shuffle=True, collate=None, num_workers=0, seed=1)
    assert batches.sliceable and len(batches) == 3
    seen = torch.cat([b["y"] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    batches.set_epoch(2)
    assert torch.cat([b["y"] for b in batches]).tolist() != seen.tolist()  # reshuffled per epoch

    transformed = InMemoryDataset({"x": torch.arange(6).float()}, transform=lambda item: {"x": item["x"] * 2})
    loader_batches = Batches(transformed, batch_size=4, shuffle=False, collate=None, num_workers=0, seed=1)
    assert not loader_batches.sliceable
    assert torch.cat([b["x"] for b in loader_batches]).tolist() == [0, 2, 4, 6, 8, 10]


def test_device_and_precision_choices():
    assert pick_device("cpu").type == "cpu"
    assert autocast_dtype(torch.device("cpu"), "auto") is None
    assert autocast_dtype(torch.device("cpu"), "bf16") is torch.bfloat16
    with pytest.raises(UserError, match="precision"):
        autocast_dtype(torch.device("cpu"), "8")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            pick_device("cuda")


def test_checkpoint_write_is_atomic(tmp_path):
    run_task("vision", tmp_path / "run", *SMALL, "trainer.max_epochs=1")
    files = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert files == ["best.pt", "last.pt"]  # no temp files left behind
    ckpt = checkpoint.load(tmp_path / "run" / "checkpoints" / "best.pt")
    assert ckpt["config"]["task"]["name"] == "vision"
    assert ckpt["task_state"]["labels"][0] == "circle"
    assert set(ckpt) >= {"model", "optimizer", "scheduler", "epoch", "config", "task_state", "history"}


def test_denormals_are_flushed_during_a_run_unless_turned_off(tmp_path):
    """A subnormal float (here 1e-39) is 0 for the run's CPU ops by default: Adam's state for
    weights without gradient decays through that range, and subnormal arithmetic is slow on CPUs."""
    seen = {}

    class Probe:
        @taskhub.hookimpl
        def on_fit_start(self, run):
            seen[run.cfg.trainer.flush_denormal] = float(torch.tensor(1e-39) * 1.0)

    from taskhub.plugins import get_host

    host = get_host()
    probe = Probe()
    host.pm.register(probe, name="denormal-probe")
    try:
        run_task("vision", tmp_path / "off", *SMALL, "trainer.max_epochs=1", "trainer.flush_denormal=false")
        run_task("vision", tmp_path / "on", *SMALL, "trainer.max_epochs=1")
    finally:
        host.pm.unregister(probe)
        torch.set_flush_denormal(False)
    assert seen[False] > 0 and seen[True] == 0.0
