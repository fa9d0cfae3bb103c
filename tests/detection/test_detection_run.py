"""End to end on the built-in data: learning happens, the run directory holds the pictures and
per-class AP, and the checkpoint evaluates and predicts (JSON lines plus drawn PNGs) from the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from taskhub.testing import cli, read_summary, run_task

SHORT = ("trainer.max_epochs=3", "dataset.num_samples=300", "dataset.batch_size=8", "task.plot_images=2")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("detection") / "run"
    run_task("detection", run_dir, *SHORT)
    return run_dir


def test_default_model_learns_on_builtin_data(trained: Path) -> None:
    summary = read_summary(trained)
    assert summary["task"] == "detection" and summary["model"] == "centernet" and summary["dataset"] == "shapes"
    for key in ("test/map", "test/map_50", "test/map_75"):
        assert key in summary
    assert summary["test/map_50"] > 0.25, summary  # chance is ~0: boxes must be found and classified
    assert summary["test/map"] > 0.08, summary
    assert "test/per_class" not in summary and "test/classes" not in summary


def test_run_dir_has_per_class_ap_and_the_detection_plots(trained: Path) -> None:
    from taskhub.testing import assert_picture

    per_class = json.loads((trained / "per_class_ap.json").read_text())
    assert set(per_class["test"]) == {"circle", "square", "triangle", "cross"}
    for name in ("pr_curves.png", "label_distribution.png", "learning_curves.png"):
        assert_picture(trained / name)
    # Two validation images (task.plot_images=2), predicted | true, each panel at least 512 px.
    assert_picture(trained / "val_boxes.png", min_size=(2 * 512, 2 * 512))
    assert not (trained / "val_boxes").exists()


def test_predict_writes_json_lines_and_drawn_pngs(trained: Path, tmp_path: Path) -> None:
    from taskhub_detection.synthetic import shapes

    data = shapes(num_samples=2, seed=5, empty_fraction=0.0, val_fraction=0.0, test_fraction=0.0)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(2):
        Image.fromarray(data.train.images[i].permute(1, 2, 0).numpy()).save(inputs / f"{i}.png")
    out_dir = tmp_path / "drawn"
    result = cli("predict", f"ckpt={trained / 'checkpoints' / 'best.pt'}", f"input={inputs}",
                 f"out={tmp_path / 'pred.jsonl'}", f"task.predict_dir={out_dir}", "task.score_threshold=0.2")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "pred.jsonl").read_text().splitlines()]
    assert [Path(r["input"]).name for r in rows] == ["0.png", "1.png"]
    for row in rows:
        assert len(row["boxes"]) == len(row["labels"]) == len(row["scores"])
        assert set(row["labels"]) <= {"circle", "square", "triangle", "cross"}
        assert all(len(b) == 4 and b[0] <= b[2] and b[1] <= b[3] for b in row["boxes"])
        assert Path(row["drawn"]).is_file()
    assert sum(len(r["boxes"]) for r in rows) > 0
    with Image.open(out_dir / "0.png") as img:
        assert img.size == (96, 96)


def test_eval_checkpoint_and_missing_input(trained: Path, tmp_path: Path) -> None:
    result = cli("eval", f"ckpt={trained / 'checkpoints' / 'best.pt'}", "split=all", "dataset.num_samples=120",
                 f"hydra.run.dir={tmp_path / 'eval'}", "trainer.device=cpu", "trainer.progress=none")
    assert result.returncode == 0, result.stderr
    summary = read_summary(tmp_path / "eval")
    assert summary["val/map_50"] > 0.2 and "test/map_75" in summary  # freshly generated images, same classes
    missing = cli("predict", f"ckpt={trained / 'checkpoints' / 'best.pt'}", f"input={tmp_path / 'nothing.png'}")
    assert missing.returncode == 2 and "input not found" in missing.stderr and "nothing.png" in missing.stderr
