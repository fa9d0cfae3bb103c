"""``taskhub data check task=detection``: boxes per class, images without boxes named as
negatives, and the sample grid with the boxes drawn."""
from __future__ import annotations

from taskhub.cli import main
from taskhub.testing import assert_picture


def test_detection_data_check_counts_boxes(coco_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "check"
    code = main(["data", "check", "task=detection", "dataset=coco", f"dataset.root={coco_dir / 'images'}",
                 f"dataset.annotations={coco_dir / 'instances.json'}", "dataset.val_fraction=0.0",
                 "dataset.test_fraction=0.0", f"out={out}"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "data train: 10 examples; boxes: cat 8, dog 2; boxes per image 0..2 (median 1)" in printed
    assert "1 train images hold no boxes (used as negatives)" in printed  # image 10
    report = (out / "data_report.md").read_text()
    assert "## Classes (boxes)" in report and "| train | 1 | 64x48 (10) |" in report
    assert_picture(out / "data_samples.png", min_size=(900, 500))
