"""Training length from the data (max_epochs: auto), early stopping auto, and the time budget."""
from __future__ import annotations

import csv

import pytest
import torch
from omegaconf import OmegaConf

from taskhub.cli import main
from taskhub.engine import checkpoint
from taskhub.engine.budget import parse_duration
from taskhub.engine.length import choose_epochs
from taskhub.engine.schedule import WarmupLinearLR
from taskhub.errors import UserError
from taskhub.testing import read_summary, run_task

# 300 shapes: 240 train images; 32 a batch: 8 optimizer steps per epoch.
TINY = ("dataset.num_samples=300", "model=mlp", "dataset.batch_size=32", "trainer.num_threads=1")


def rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("10m", 600), ("1h", 3600), ("1h30m", 5400),
                                           ("45", 45), ("2.5m", 150), (30, 30), (" 1H 5S ", 3605)])
def test_durations_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["ten minutes", "10 min", "0", "-5s", "1x", "m"])
def test_bad_durations_are_one_line_naming_the_setting(text):
    with pytest.raises(UserError, match=r"trainer\.time_limit="):
        parse_duration(text)
    assert parse_duration(None) is None and parse_duration("null") is None


def test_bad_length_settings_fail_before_any_data_is_read(tmp_path, capsys):
    for setting, fragment in (("trainer.time_limit=ten", "trainer.time_limit=ten: not a duration"),
                              ("trainer.max_epochs=1.5", "trainer.max_epochs=1.5"),
                              ("trainer.target_steps=0", "trainer.target_steps=0"),
                              ("trainer.early_stopping.patience=soon", "trainer.early_stopping.patience=soon")):
        assert main(["run", "task=vision", setting, "dataset.num_samples=100000000",
                     f"hydra.run.dir={tmp_path / 'run'}"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], err


def test_the_budget_reserves_a_validation_pass_and_counts_what_fits():
    from taskhub.engine.budget import TimeBudget

    budget = TimeBudget(limit=10.5, batches_per_epoch=4)
    budget.seed({"batch_seconds": 1.0, "val_seconds": 2.0})  # as measured by an earlier process
    budget.start()
    assert budget.fits(7) and not budget.fits(9)  # 7 batches + 2 s of validation fit in 10.5 s; 9 do not
    # 5 batches left in this epoch (+2 s validation), 3.5 s left: one batch of the next epoch and its validation.
    assert budget.future_batches(5, 3) == 6
    assert budget.future_batches(9, 3) == 8  # the epoch itself does not fit: 8 batches, then validation
    assert budget.future_batches(5, 0) == 5  # max_epochs ends it first
    resumed = TimeBudget(limit=10.0, spent=9.5)  # the time of earlier processes counts
    resumed.seed({"batch_seconds": 1.0, "val_seconds": 0.1})
    resumed.start()
    assert not resumed.fits(1) and resumed.remaining() <= 0.5


def test_epochs_rule_scales_with_the_data_and_is_clamped():
    cfg = OmegaConf.create({"target_steps": 2000, "min_epochs": 2, "max_epochs_cap": 200})
    assert choose_epochs(cfg, 168) == (12, "about 2000 steps at 168 steps per epoch")
    assert choose_epochs(cfg, 15)[0] == 134          # a 120-image set at batch 8: many epochs
    assert choose_epochs(cfg, 938)[0] == 3           # 60,000 images at batch 64: few
    epochs, reason = choose_epochs(cfg, 1)
    assert epochs == 200 and "max_epochs_cap=200" in reason
    epochs, reason = choose_epochs(cfg, 5000)
    assert epochs == 2 and "min_epochs=2" in reason


def test_auto_epochs_are_chosen_from_the_training_split_logged_and_reused(tmp_path, capfd):
    run_dir = tmp_path / "run"
    summary = run_task("vision", run_dir, *TINY, "trainer.max_epochs=auto", "trainer.target_steps=20",
                       "trainer.accumulate_grad_batches=2")
    # 8 batches, 2 accumulated: 4 optimizer steps per epoch, 20 steps: 5 epochs, patience max(3, 0) = 3.
    assert "trainer.max_epochs=5 (about 20 steps at 4 steps per epoch)" in "".join(capfd.readouterr())
    assert summary["auto"]["trainer.max_epochs"] == 5
    assert summary["auto"]["trainer.early_stopping.patience"] == 3
    ckpt = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert ckpt["auto"]["trainer.max_epochs"]["value"] == 5 and ckpt["config"]["trainer"]["max_epochs"] == 5
    assert summary["epochs"] == len(rows(run_dir)) <= 5
    assert ckpt["global_step"] == 4 * summary["epochs"]

    # Resumed with more data the length is the checkpoint's, not re-chosen.
    resumed = run_task("vision", run_dir, *TINY, "trainer.max_epochs=auto", "trainer.target_steps=20",
                       "trainer.accumulate_grad_batches=2", "trainer.resume=auto", "dataset.num_samples=600")
    assert "trainer.max_epochs=5 (from the checkpoint)" in "".join(capfd.readouterr())
    assert resumed["auto"]["trainer.max_epochs"] == 5


def test_an_explicit_number_of_epochs_wins_and_trains_in_full(tmp_path):
    # lr=0 never improves: early stopping would stop after 4 epochs if patience auto were on.
    summary = run_task("vision", tmp_path / "run", *TINY, "trainer.max_epochs=5", "optimizer.lr=0.0",
                       "trainer.target_steps=8")
    assert summary["epochs"] == 5 and "trainer.max_epochs" not in summary["auto"]
    assert summary["time_limit_seconds"] is None and summary["time_used_seconds"] > 0


def test_time_limit_stops_in_time_and_the_cosine_reaches_its_end(tmp_path):
    run_dir = tmp_path / "run"
    summary = run_task("vision", run_dir, *TINY, "trainer.max_epochs=500", "trainer.time_limit=6s",
                       "scheduler=cosine", "optimizer.lr=0.002")
    assert summary["time_limit_seconds"] == 6
    # Ends within the budget (generous for a loaded machine) and uses most of it.
    assert 3.0 <= summary["time_used_seconds"] <= 6 * 1.2 + 0.5, summary
    assert summary["fit_seconds"] <= 6 * 1.2 + 1.0
    assert 1 < summary["epochs"] < 500
    history = rows(run_dir)
    lrs = [float(r["lr"]) for r in history]
    assert lrs[0] > lrs[len(lrs) // 2] > lrs[-1]
    assert lrs[-1] < 0.02 * 0.002, lrs[-5:]  # the schedule was stretched to the budget: at its minimum
    assert "test/accuracy" in summary and summary["best_epoch"] is not None


def test_a_resumed_run_keeps_counting_the_time_spent(tmp_path):
    run_dir = tmp_path / "run"
    first = run_task("vision", run_dir, *TINY, "trainer.max_epochs=500", "trainer.time_limit=3s")
    assert 1.5 <= first["time_used_seconds"] <= 3 * 1.2 + 0.5
    ckpt = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert ckpt["state"]["time_used_seconds"] == pytest.approx(first["time_used_seconds"], abs=0.5)

    # Same budget: (almost) nothing left, so the resumed run stops at once: at most the one epoch
    # that the few hundredths of a second left may still fit (the step times are re-measured).
    again = run_task("vision", run_dir, *TINY, "trainer.max_epochs=500", "trainer.time_limit=3s",
                     "trainer.resume=auto")
    assert first["epochs"] <= again["epochs"] <= first["epochs"] + 1
    assert again["time_used_seconds"] <= 3 * 1.2 + 0.5

    # A larger budget: it continues for the difference only.
    more = run_task("vision", run_dir, *TINY, "trainer.max_epochs=500", "trainer.time_limit=6s",
                    "trainer.resume=auto")
    assert more["epochs"] > first["epochs"]
    assert first["time_used_seconds"] + 1.0 <= more["time_used_seconds"] <= 6 * 1.2 + 0.5
    assert [int(r["epoch"]) for r in rows(run_dir)] == list(range(1, more["epochs"] + 1))


def test_linear_warmup_rises_then_decays_and_follows_a_new_length():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    schedule = WarmupLinearLR(optimizer, total_steps=100, warmup=0.1)
    lrs = []
    for step in range(80):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
        if step == 49:
            schedule.set_total_steps(80)  # a budget's re-estimate: 30 steps left instead of 50
    assert lrs[0] < 0.2 and lrs[10] == pytest.approx(1.0)
    assert all(b <= a for a, b in zip(lrs[10:], lrs[11:]))
    assert abs(lrs[51] - lrs[50]) < 0.03  # no jump where the length changed
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-9)
    restored = WarmupLinearLR(optimizer, total_steps=5)
    restored.load_state_dict(schedule.state_dict())
    assert restored.total_steps == 80 and restored.anchor == schedule.anchor


def test_fine_tuning_presets_compose_and_warm_up_over_the_run(tmp_path):
    run_dir = tmp_path / "run"
    run_task("vision", run_dir, *TINY, "trainer.max_epochs=3", "optimizer=adamw_finetune", "scheduler=linear_warmup",
             "scheduler.warmup=0.3")
    lrs = [float(r["lr"]) for r in rows(run_dir)]
    # 24 steps, 7 warm-up: the rate peaks in epoch 1, decays, and is 0 after the last step.
    assert lrs[0] > lrs[1] > lrs[2] and lrs[2] == pytest.approx(0.0, abs=1e-12)
    ckpt = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert ckpt["scheduler"]["total_steps"] == 24


@pytest.mark.slow
def test_time_limit_under_torchrun_stops_every_process_together(tmp_path):
    """Each process has its own clock; rank 0 decides, so neither waits forever for the other.
    8 s hold several epochs even on a loaded machine: the schedule's length is re-estimated after
    each, and with only one the first validation's time is still a guess."""
    import os
    import shutil
    import socket
    import subprocess
    import sys
    from pathlib import Path

    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists() and not shutil.which("torchrun"):
        pytest.skip("torchrun is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_dir = tmp_path / "ddp"
    cmd = [str(torchrun if torchrun.exists() else "torchrun"), "--nproc_per_node=2", f"--master_port={port}",
           "-m", "taskhub", "run", "task=vision", *TINY, "trainer.max_epochs=500", "trainer.time_limit=8s",
           "scheduler=cosine", "trainer.device=cpu", "trainer.progress=none", f"hydra.run.dir={run_dir}"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                            env={**os.environ, "MASTER_ADDR": "127.0.0.1"})
    assert result.returncode == 0, result.stderr[-3000:]
    summary = read_summary(run_dir)
    assert summary["world_size"] == 2 and 1 <= summary["epochs"] < 500
    assert summary["time_used_seconds"] <= 8 * 1.2 + 1.0
    assert float(rows(run_dir)[-1]["lr"]) < 0.05 * 1e-3
