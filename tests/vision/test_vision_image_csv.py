"""dataset=image_csv: CSVs of image paths and labels parse (paths, labels, splits), a short run
trains on them with auto settings, and a missing image or empty label is one line or counted."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from taskhub import UserError
from taskhub.cli import main
from taskhub_vision.image_csv import image_csv

FAST = ("trainer.max_epochs=1", "trainer.device=cpu", "trainer.progress=none", "dataset.num_workers=0")


def write_csv_dataset(root: Path, per_class: int = 6) -> Path:
    """root/img/<class>_<i>.png (red or blue squares) and root/train.csv, val.csv listing them."""
    (root / "img").mkdir(parents=True)
    rows = {"train": [], "val": []}
    for c, colour in enumerate(((200, 30, 30), (30, 30, 200))):
        for i in range(per_class + 2):
            image = np.full((20, 24, 3), colour, dtype=np.uint8)
            Image.fromarray(image).save(root / "img" / f"{c}_{i}.png")
            rows["val" if i >= per_class else "train"].append(f"img/{c}_{i}.png,{('red', 'blue')[c]}")
    for split, lines in rows.items():
        (root / f"{split}.csv").write_text("path,label\n" + "\n".join(lines) + "\n")
    return root


def test_rows_become_labelled_images_and_test_is_carved(tmp_path: Path) -> None:
    root = write_csv_dataset(tmp_path / "d")
    data = image_csv(str(root / "train.csv"), val=str(root / "val.csv"), image_size=[8, 10], test_fraction=0.25)
    assert data.info["labels"] == ["blue", "red"] and data.info["image_size"] == [8, 10]
    assert len(data.val) == 4 and len(data.train) + len(data.test) == 12 and len(data.test) == 3
    item = data.val[0]
    assert tuple(item["image"].shape) == (3, 8, 10)
    labels = sorted(int(data.val[i]["label"]) for i in range(4))
    assert labels == [0, 0, 1, 1]
    red = [i for i in range(4) if int(data.val[i]["label"]) == 1][0]
    assert int(data.val[red]["image"][0].float().mean()) == 200  # the red images carry the label "red"


def test_columns_and_root_are_settable(tmp_path: Path) -> None:
    root = write_csv_dataset(tmp_path / "d")
    text = (root / "train.csv").read_text().replace("path,label", "file,kind").replace("img/", "")
    (tmp_path / "elsewhere.csv").write_text(text)
    data = image_csv(str(tmp_path / "elsewhere.csv"), path_column="file", label_column="kind", root=str(root / "img"),
                     image_size=8, val_fraction=0.0, test_fraction=0.0)
    assert len(data.train) == 12 and data.val is None
    with pytest.raises(UserError, match="no column 'path' .*dataset.path_column"):
        image_csv(str(tmp_path / "elsewhere.csv"))


def test_missing_image_and_empty_label_fail_in_one_line_or_are_counted(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    root = write_csv_dataset(tmp_path / "d")
    with (root / "train.csv").open("a") as f:
        f.write("img/gone.png,red\nimg/0_1.png,\n")
    code = main(["run", "task=vision", "dataset=image_csv", f"dataset.train={root / 'train.csv'}",
                 f"hydra.run.dir={tmp_path / 'run'}", *FAST])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(err) == 1 and "train.csv:14" in err[0] and "image file not found" in err[0], err
    data = image_csv(str(root / "train.csv"), on_bad="skip", image_size=8)
    assert data.skipped.keys() == {"image file not found", "empty label ('label')"}
    assert sum(len(v) for v in data.skipped.values()) == 2
    assert len(data.train) + len(data.val) + len(data.test) == 12


def test_short_run_trains_with_auto_settings(tmp_path: Path) -> None:
    from taskhub.testing import read_summary, run_task

    root = write_csv_dataset(tmp_path / "d")
    run_task("vision", tmp_path / "run", "dataset=image_csv", f"dataset.train={root / 'train.csv'}",
             f"dataset.val={root / 'val.csv'}", "dataset.num_workers=0", "trainer.max_epochs=1")
    summary = read_summary(tmp_path / "run")
    assert summary["dataset"] == "image_csv" and "test/accuracy" in summary
