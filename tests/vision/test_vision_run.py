"""task=vision end to end: learning on the built-in data, the run directory, eval and predict."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

import taskhub
from taskhub.cli import main
from taskhub.testing import read_summary, run_task


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("vision") / "run"
    summary = run_task("vision", run_dir, "dataset.num_samples=2400", "trainer.max_epochs=4")
    return run_dir, summary


def test_learns_the_default_data(trained):
    _, summary = trained
    # Six balanced classes: chance is 1/6.
    assert summary["test/accuracy"] > 0.6, summary
    assert summary["test/f1_macro"] > 0.55


def test_run_directory_has_everything(trained):
    run_dir, summary = trained
    for name in (".hydra/config.yaml", ".hydra/overrides.yaml", "metrics.csv", "checkpoints/last.pt",
                 "checkpoints/best.pt", "learning_curves.png", "confusion_matrix.png", "summary.json"):
        assert (run_dir / name).is_file(), name
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    assert len(rows) == 4
    assert {"epoch", "train/loss", "val/loss", "val/accuracy", "val/f1_macro", "seconds"} <= set(rows[0])
    assert float(rows[-1]["train/loss"]) < float(rows[0]["train/loss"])
    on_disk = read_summary(run_dir)
    for key in ("task", "model", "dataset", "epochs", "train_seconds", "samples_per_second", "num_parameters",
                "device", "test/accuracy", "test/f1_macro"):
        assert key in on_disk, key
    assert on_disk["task"] == "vision" and on_disk["model"] == "cnn" and on_disk["dataset"] == "shapes"
    assert on_disk["num_parameters"] > 0 and on_disk["samples_per_second"] > 0


def test_eval_writes_its_own_summary(trained, tmp_path):
    run_dir, summary = trained
    eval_dir = tmp_path / "eval"
    assert main(["eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", "split=all", f"hydra.run.dir={eval_dir}",
                 "trainer.progress=none"]) == 0
    evaluated = read_summary(eval_dir)
    assert evaluated["test/accuracy"] == pytest.approx(summary["test/accuracy"], abs=1e-6)
    assert "val/accuracy" in evaluated


def test_predict_gives_topk_json_lines(trained, tmp_path, capsys):
    run_dir, _ = trained
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(images / f"img{i}.png")
    capsys.readouterr()
    assert main(["predict", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"input={images}", "task.topk=3"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["input"].rsplit("/", 1)[-1] for r in rows] == ["img0.png", "img1.png", "img2.png"]
    for row in rows:
        assert len(row["topk"]) == 3 and row["label"] == row["topk"][0]["label"]
        probs = [t["probability"] for t in row["topk"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001


def test_python_load_predicts_arrays(trained):
    run_dir, _ = trained
    predictor = taskhub.load(run_dir / "checkpoints" / "best.pt")
    rows = predictor.predict([np.zeros((32, 32, 3), dtype=np.uint8)])
    assert rows[0]["label"] in ("circle", "square", "triangle", "cross", "ring", "diamond")


def test_corrupt_image_in_predict_is_named(trained, tmp_path, capsys):
    run_dir, _ = trained
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    capsys.readouterr()
    assert main(["predict", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"input={bad}"]) == 2
    err = capsys.readouterr().err
    assert "bad.png" in err and err.count("error: ") == 1 and "Traceback" not in err


@pytest.mark.parametrize("model", ["mlp", "resnet", "torchvision"])
def test_every_model_trains_a_step(tmp_path, model):
    extra = ["model.name=mobilenet_v3_small"] if model == "torchvision" else []
    summary = run_task("vision", tmp_path / "run", f"model={model}", *extra, "dataset.num_samples=200",
                       "trainer.max_epochs=1")
    assert summary["model"] == model and summary["epochs"] == 1
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    # 160 training images in batches of 64: three optimizer steps, which left Adam state for every weight
    weights = ckpt["optimizer"]["param_groups"][0]["params"]
    assert ckpt["global_step"] == 3 and len(ckpt["optimizer"]["state"]) == len(weights)
    assert np.isfinite(summary["test/loss"]) and 0.0 <= summary["test/accuracy"] <= 1.0


class CountingFlip:
    """A real transform (horizontal flip) that counts its calls, to prove the loader applied it."""

    calls = 0

    def __call__(self, image):
        type(self).calls += 1
        return image.flip(-1)


def test_augmentation_from_config_streams_through_loader(tmp_path):
    CountingFlip.calls = 0
    summary = run_task("vision", tmp_path / "run", "dataset.num_samples=300", "trainer.max_epochs=1",
                       f"dataset.augment=[{{_target_: {__name__}.CountingFlip}}]")
    assert summary["epochs"] == 1
    assert CountingFlip.calls == 240  # every training image once (80% of 300), never val or test


def test_run_directory_has_the_classification_plots(trained):
    from taskhub.testing import assert_picture

    run_dir, _ = trained
    for name in ("confusion_matrix.png", "confusion_matrix_normalized.png", "per_class_scores.png",
                 "roc_curves.png", "pr_curves.png", "most_confident_errors.png", "learning_curves.png"):
        assert_picture(run_dir / name)
