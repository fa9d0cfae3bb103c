"""The YOLO txt layout (Ultralytics' data.yaml + images/ + labels/): boxes parse to pixels, a run
trains on it, and a bad label line is one line naming file:line (or skipped and counted)."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_image

from taskhub import UserError
from taskhub.cli import main
from taskhub_detection.yolo import yolo


def write_yolo(root: Path, labels: dict[str, dict[str, list[str]]], names: object = ("cat", "dog"),
               extra: str = "") -> Path:
    """``labels`` maps split -> image stem -> label lines (None: no label file); images are 64x48."""
    n = 0
    for split, items in labels.items():
        for stem, lines in items.items():
            write_image(root / "images" / split / f"{stem}.png", 64, 48, n)
            n += 1
            if lines is not None:
                (root / "labels" / split).mkdir(parents=True, exist_ok=True)
                (root / "labels" / split / f"{stem}.txt").write_text("".join(f"{line}\n" for line in lines))
    shown = list(names) if isinstance(names, tuple) else names
    splits = "".join(f"{s}: images/{s}\n" for s in labels)
    (root / "data.yaml").write_text(f"path: .\n{splits}names: {shown}\n{extra}")
    return root


def _dataset(tmp_path: Path) -> Path:
    train = {f"t{i}": [f"{i % 2} 0.5 0.5 0.25 0.5"] for i in range(8)}
    train["two"] = ["0 0.25 0.25 0.25 0.25", "1 0.75 0.5 0.5 1.0"]
    train["empty"] = None  # no label file: a negative
    return write_yolo(tmp_path / "yolo", {"train": train, "val": {"v0": ["1 0.5 0.5 0.5 0.5"], "v1": None}})


def test_yolo_boxes_are_pixels_and_missing_label_files_are_negatives(tmp_path: Path) -> None:
    data = yolo(str(_dataset(tmp_path)), max_size=None, test_fraction=0.2, seed=0)
    assert data.info["labels"] == ["cat", "dog"]
    assert len(data.val) == 2 and len(data.train) + len(data.test) == 10 and len(data.test) == 2
    rows = {Path(p).name: (t["boxes"].tolist(), t["labels"].tolist())
            for split in (data.train, data.test, data.val) for p, t in zip(split.images, split.targets)}
    assert rows["two.png"] == ([[8.0, 6.0, 24.0, 18.0], [32.0, 0.0, 64.0, 48.0]], [0, 1])
    assert rows["empty.png"] == ([], []) and rows["v1.png"] == ([], [])
    assert rows["v0.png"] == ([[16.0, 12.0, 48.0, 36.0]], [1])


def test_yolo_names_mapping_txt_lists_and_data_path(tmp_path: Path) -> None:
    root = write_yolo(tmp_path / "y", {"train": {"a": ["1 0.5 0.5 0.5 0.5"], "b": ["0 0.5 0.5 0.1 0.1"]}},
                      names={0: "person", 1: "car"})
    (root / "train.txt").write_text("./images/train/a.png\nimages/train/b.png\n")
    text = (root / "data.yaml").read_text().replace("train: images/train", "train: train.txt")
    (root / "data.yaml").write_text(text)
    data = yolo(data=str(root / "data.yaml"), max_size=None, val_fraction=0.0, test_fraction=0.0)
    assert data.info["labels"] == ["person", "car"]
    assert [Path(p).name for p in data.train.images] == ["a.png", "b.png"]
    assert data.train.targets[0]["labels"].tolist() == [1]


@pytest.mark.parametrize("line, problem", [("0 0.5 0.5 0.2", "has 4 fields"), ("5 0.5 0.5 0.2 0.2", "class 5"),
                                           ("0 0.5 1.5 0.2 0.2", "not normalised")])
def test_yolo_bad_line_names_file_and_line_or_is_skipped(tmp_path: Path, line: str, problem: str) -> None:
    root = write_yolo(tmp_path / "bad", {"train": {f"i{i}": ["0 0.5 0.5 0.2 0.2"] for i in range(4)}
                                         | {"x": ["1 0.5 0.5 0.2 0.2", line]}})
    with pytest.raises(UserError, match=rf"labels/train/x\.txt:2: .*{problem}"):
        yolo(str(root))
    data = yolo(str(root), on_bad="skip", val_fraction=0.0, test_fraction=0.0, max_size=None)
    assert sum(len(v) for v in data.skipped.values()) == 1
    assert {Path(p).name: t["labels"].tolist() for p, t in zip(data.train.images, data.train.targets)}["x.png"] == [1]


def test_yolo_bad_input_is_one_error_line_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = write_yolo(tmp_path / "bad", {"train": {"a": ["0 0.5 0.5 0.2 0.2 7"]}})
    rc = main(["run", "task=detection", "dataset=yolo", f"dataset.root={root}", f"hydra.run.dir={tmp_path / 'run'}",
               "trainer.device=cpu", "trainer.progress=none"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert rc == 2 and len(err) == 1 and "a.txt:1" in err[0], err
    assert main(["run", "task=detection", "dataset=yolo", f"dataset.data={tmp_path / 'none.yaml'}",
                 f"hydra.run.dir={tmp_path / 'run2'}", "trainer.device=cpu", "trainer.progress=none"]) == 2


def test_yolo_short_run_trains(tmp_path: Path) -> None:
    from taskhub.testing import read_summary, run_task

    run_task("detection", tmp_path / "run", "dataset=yolo", f"dataset.root={_dataset(tmp_path)}",
             "trainer.max_epochs=1", "dataset.batch_size=4", "task.plot_images=1")
    summary = read_summary(tmp_path / "run")
    assert summary["dataset"] == "yolo" and "test/map" in summary
