"""`auto` image settings: chosen from the training images, logged, kept in the checkpoint and
summary, and reused (never re-chosen) by eval, predict and resume."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

import taskhub
from taskhub.cli import main
from taskhub.testing import read_summary, run_task
from taskhub_vision import auto, datasets

FAST = ("dataset=imagefolder", "model=mlp", "dataset.num_workers=0", "trainer.num_threads=1")


def write_gray_folder(root, n=8, height=20, width=24):
    for c, name in enumerate(("dark", "light")):
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((height, width), 30 + 180 * c + i, dtype=np.uint8), mode="L").save(root / name / f"{i}.png")


def test_auto_settings_are_chosen_logged_stored_and_reused(tmp_path):
    write_gray_folder(tmp_path / "data" / "train")
    run_dir = tmp_path / "run"
    summary = run_task("vision", run_dir, *FAST, f"dataset.root={tmp_path / 'data'}", "trainer.max_epochs=2")
    log = (run_dir / "launch.log").read_text()
    assert "image_size=[20, 24] (every training image is 24x20)" in log
    assert "grayscale=True (every training image is grayscale (L))" in log
    assert "mean=[" in log and "std=[" in log
    chosen = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["auto"]
    assert chosen["dataset.image_size"]["value"] == [20, 24] and chosen["dataset.grayscale"]["value"] is True
    pixels = np.concatenate([np.full(20 * 24, 30 + 180 * c + i) for c in (0, 1) for i in range(8)]) / 255
    # the mean is measured on the training split (val/test carved out), so it is near the folder's
    assert abs(chosen["dataset.mean"]["value"][0] - pixels.mean()) < 0.1 and chosen["dataset.std"]["value"][0] > 0.2
    assert summary["auto"]["dataset.image_size"] == [20, 24] and summary["test/accuracy"] == 1.0

    # eval on colour images of another size: the checkpoint's size and channels are reused
    other = tmp_path / "other" / "train"
    for c, name in enumerate(("dark", "light")):
        (other / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(np.full((50, 40, 3), 30 + 180 * c, dtype=np.uint8)).save(other / name / f"{i}.png")
    assert main(["eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"dataset.root={tmp_path / 'other'}",
                 f"hydra.run.dir={tmp_path / 'eval'}", "split=all", "trainer.device=cpu", "trainer.progress=none"]) == 0
    eval_log = (tmp_path / "eval" / "launch.log").read_text()
    assert "image_size=[20, 24] (from the checkpoint)" in eval_log and "grayscale=True (from the checkpoint)" in eval_log
    assert read_summary(tmp_path / "eval")["test/accuracy"] == 1.0

    # predict: a colour 50x40 image becomes a gray 20x24 one, as trained
    predictor = taskhub.load(run_dir / "checkpoints" / "best.pt")
    rows = predictor.predict([str(other / "light" / "0.png")])
    assert rows[0]["label"] == "light"

    # resume continues with the checkpoint's choices
    run_task("vision", run_dir, *FAST, f"dataset.root={tmp_path / 'data'}", "trainer.max_epochs=3",
             "trainer.resume=auto")
    resumed = (run_dir / "launch.log").read_text()
    for key in ("image_size=[20, 24]", "grayscale=True", "mean=", "std="):
        assert any(key in line and "(from the checkpoint)" in line for line in resumed.splitlines()), key


def test_explicit_values_win_and_varied_sizes_use_the_median(tmp_path):
    root = tmp_path / "data"
    for c, name in enumerate(("a", "b")):
        (root / name).mkdir(parents=True)
        for i, (h, w) in enumerate([(30, 40), (60, 50), (100, 90), (300, 400)]):
            Image.fromarray(np.full((h, w, 3), (40 + 100 * c, 10 * i, 0), dtype=np.uint8)).save(root / name / f"{i}.png")
    survey = datasets.survey(str(root))
    side, reason = auto.image_size(survey, largest=224, multiple=16)
    assert side == 64 and "median shorter side" in reason  # shorter sides 30, 50, 90, 300: median 70 -> 64
    assert auto.image_size(survey, largest=48, multiple=16)[0] == 48  # capped
    assert auto.grayscale(survey)[0] is False
    summary = run_task("vision", tmp_path / "run", *FAST, f"dataset.root={root}", "dataset.image_size=16",
                       "dataset.grayscale=true", "dataset.mean=[0.5]", "dataset.std=[0.2]", "trainer.max_epochs=1",
                       "dataset.val_fraction=0.25", "dataset.test_fraction=0.25")
    assert summary.get("auto", {}) == {}
