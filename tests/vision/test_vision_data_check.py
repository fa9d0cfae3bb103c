"""``taskhub data check task=vision`` on image files read lazily: sizes from the files' headers
(an image of unusual size is named), files hashed by content, a sample grid."""
from __future__ import annotations

import numpy as np
from PIL import Image

from taskhub.cli import main
from taskhub.testing import assert_picture


def test_vision_data_check_unusual_size_from_headers(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(tmp_path / "data" / label / f"{i}.png")
    Image.fromarray(rng.integers(0, 255, (200, 20, 3), dtype=np.uint8)).save(tmp_path / "data" / "dog" / "tall.png")
    out = tmp_path / "check"
    code = main(["data", "check", "task=vision", "dataset=imagefolder", f"dataset.root={tmp_path / 'data'}",
                 "dataset.image_size=16", "dataset.in_memory=false", "dataset.val_fraction=0.0",
                 "dataset.test_fraction=0.0", f"out={out}"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "data train: 11 examples; per class: cat 5, dog 6" in printed
    assert "1 train items of unusual size (median 20x20)" in printed and "tall.png (20x200)" in printed
    assert "| train | 2 | 20x20 (10), 20x200 (1) |" in (out / "data_report.md").read_text()
    assert_picture(out / "data_samples.png")
