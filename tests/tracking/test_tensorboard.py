"""The TensorBoard logger, read back with TensorBoard's own EventAccumulator."""
from __future__ import annotations

import json
import sys

import pytest

from taskhub.cli import main
from taskhub.testing import run_task
from tracking_helpers import TINY, metrics_csv

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def read_events(log_dir):
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    return events


def test_scalars_per_step_and_epoch_config_hparams_and_plots(tmp_path):
    run_dir = tmp_path / "run"
    # 240 training images in batches of 32: 8 optimizer steps an epoch, 16 in all.
    summary = run_task("vision", run_dir, *TINY, "logger=[csv,tensorboard]", "logger.tensorboard.every_n_steps=3")
    events = read_events(run_dir / "tensorboard")
    rows = metrics_csv(run_dir)
    for key in ("train/loss", "val/loss", "val/accuracy", "lr"):
        logged = [(e.step, e.value) for e in events.Scalars(key)]
        assert [step for step, _ in logged] == [1, 2], key
        assert [v for _, v in logged] == pytest.approx([row[key] for row in rows], rel=1e-5), key
    steps = events.Scalars("train/loss_step")
    assert [e.step for e in steps] == [3, 6, 9, 12, 15]
    assert all(0.0 < e.value < 10.0 for e in steps)
    assert [e.step for e in events.Scalars("lr_step")] == [3, 6, 9, 12, 15]
    (test_accuracy,) = events.Scalars("test/accuracy")
    assert test_accuracy.value == pytest.approx(summary["test/accuracy"], rel=1e-6)
    text = events.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "max_epochs: 2" in text and "_target_: taskhub_vision.models" in text
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(events.PluginTagToContent("hparams"))
    images = events.Tags()["images"]
    assert {"plots/learning_curves", "plots/confusion_matrix"} <= set(images)
    (curves,) = events.Images("plots/learning_curves")
    assert curves.width > 100 and curves.height > 100
    assert (run_dir / "metrics.csv").is_file() and (run_dir / "summary.json").is_file()


def test_csv_logger_is_optional(tmp_path):
    run_task("vision", tmp_path / "run", *TINY, "trainer.max_epochs=1", "logger=[tensorboard]")
    assert not (tmp_path / "run" / "metrics.csv").exists()
    assert read_events(tmp_path / "run" / "tensorboard").Scalars("train/loss")
    assert (tmp_path / "run" / "summary.json").is_file()


def test_a_missing_extra_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    args = ["run", "task=vision", *TINY, "trainer.max_epochs=1", "trainer.device=cpu", "trainer.progress=none",
            "logger=[csv,tensorboard]"]
    assert main([*args, f"hydra.run.dir={tmp_path / 'fails'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "taskhub-dl[tracking]" in err[0] and "logger=tensorboard" in err[0]
    assert not (tmp_path / "fails" / "checkpoints").exists()  # it failed before training
    assert json.loads((tmp_path / "fails" / "manifest.json").read_text())["status"] == "failed"
    assert main([*args, f"hydra.run.dir={tmp_path / 'warns'}", "logger.tensorboard.on_error=warn"]) == 0
    out = capsys.readouterr()
    assert "training goes on without logger tensorboard" in out.out + out.err
    assert (tmp_path / "warns" / "summary.json").is_file()
