"""`auto` detection settings: the input size from image and object sizes and box-aware augmentation
from the training-set size are chosen, logged, kept in the checkpoint and reused by eval, predict
and resume."""
from __future__ import annotations

from pathlib import Path

import torch

import taskhub
from taskhub.cli import main
from taskhub.testing import run_task
from taskhub_detection import auto
from taskhub_detection.data import DetectionDataset, target

FAST = ("dataset.num_samples=40", "trainer.num_threads=1", "task.plot_images=0")


def test_auto_settings_are_chosen_logged_stored_and_reused(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    summary = run_task("detection", run_dir, *FAST, "trainer.max_epochs=1")
    log = (run_dir / "launch.log").read_text()
    assert "model.input_size=96 (" in log  # the objects are large enough; never above the 96 px images
    assert "augment=[" in log and "28 training images (< 1000): box-aware augmentation" in log
    chosen = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["auto"]
    assert chosen["model.input_size"]["value"] == 96
    assert [op["_target_"].rsplit(".", 1)[-1] for op in chosen["dataset.augment"]["value"]][-1] == "RandomHorizontalFlip"
    assert summary["auto"]["model.input_size"] == 96

    assert main(["eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", "dataset.num_samples=20",
                 f"hydra.run.dir={tmp_path / 'eval'}", "trainer.device=cpu", "trainer.progress=none"]) == 0
    assert "model.input_size=96 (from the checkpoint)" in (tmp_path / "eval" / "launch.log").read_text()

    predictor = taskhub.load(run_dir / "checkpoints" / "best.pt")
    assert predictor.task.resolved["model.input_size"]["value"] == 96
    assert len(predictor.predict([torch.zeros(3, 50, 70, dtype=torch.uint8)])) == 1

    run_task("detection", run_dir, *FAST, "trainer.max_epochs=2", "trainer.resume=auto")
    resumed = (run_dir / "launch.log").read_text().splitlines()
    assert any("model.input_size=96 (from the checkpoint)" in line for line in resumed)
    assert any(line.split(" - ")[-1].startswith("augment=") and "(from the checkpoint)" in line for line in resumed)


def _dataset(count: int, image: tuple[int, int], box: float) -> DetectionDataset:
    w, h = image
    targets = [target([[10, 10, 10 + box, 10 + 2 * box]], [0]) for _ in range(count)]
    return DetectionDataset([Path(f"{i}.png") for i in range(count)], targets, max_size=None, sizes=[(w, h)] * count)


def test_input_size_follows_object_and_image_sizes() -> None:
    big = auto.input_size(_dataset(10, (400, 300), box=120), min_object_px=20, largest=512)[0]
    small = auto.input_size(_dataset(10, (400, 300), box=20), min_object_px=20, largest=512)[0]
    assert big == 64 and small == 384  # large objects need few pixels; small ones keep theirs
    assert auto.input_size(_dataset(10, (100, 80), box=5), min_object_px=20, largest=512)[0] == 100  # no upscaling
    assert auto.input_size(_dataset(10, (2000, 1500), box=8), min_object_px=20, largest=512)[0] == 512


def test_augmentation_follows_the_number_of_training_images() -> None:
    assert auto.augmentation(72, 1000, [{"_target_": "x"}])[0] == [{"_target_": "x"}]
    assert auto.augmentation(5000, 1000, [{"_target_": "x"}])[0] is None
