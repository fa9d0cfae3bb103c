"""`taskhub data convert`: COCO -> YOLO -> COCO keeps every box (within rounding), and bad
arguments are one error line."""
from __future__ import annotations

from pathlib import Path

import pytest

from taskhub.cli import main
from taskhub_detection.formats import coco
from taskhub_detection.yolo import yolo


def _boxes(data) -> dict[str, tuple[list, list]]:
    out = {}
    for split in (data.train, data.val, data.test):
        if split is None:
            continue
        for img, tgt in zip(split.images, split.targets):
            crowd = tgt["iscrowd"].bool()
            out[Path(img).name] = (tgt["boxes"][~crowd].tolist(), tgt["labels"][~crowd].tolist())
    return out


def _close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name][1] == b[name][1], name
        flat = [v for box in b[name][0] for v in box]
        assert [v for box in a[name][0] for v in box] == pytest.approx(flat, abs=0.01), name


def test_coco_to_yolo_to_coco_keeps_the_boxes(coco_dir: Path, tmp_path: Path) -> None:
    kwargs = dict(max_size=None, val_fraction=0.0, test_fraction=0.0)
    original = _boxes(coco(str(coco_dir / "images"), str(coco_dir / "instances.json"), **kwargs))
    assert main(["data", "convert", "from=coco", "to=yolo", f"src={coco_dir / 'instances.json'}",
                 f"dst={tmp_path / 'y'}"]) == 0
    assert (tmp_path / "y" / "labels" / "train" / "1.txt").read_text().startswith("0 0.140625 0.312500")
    as_yolo = yolo(str(tmp_path / "y"), **kwargs)
    assert as_yolo.info["labels"] == ["cat", "dog"]
    _close(_boxes(as_yolo), original)  # (the crowd region of 2.png is left out: YOLO has no crowd flag)
    assert main(["data", "convert", "from=yolo", "to=coco", f"src={tmp_path / 'y'}", f"dst={tmp_path / 'c'}"]) == 0
    back = coco(str(tmp_path / "c" / "images" / "train"), str(tmp_path / "c" / "annotations" / "instances_train.json"),
                **kwargs)
    assert back.info["labels"] == ["cat", "dog"]
    _close(_boxes(back), original)
    # ... and back again, from the folder of COCO files (the split read from the file name)
    assert main(["data", "convert", "from=coco", "to=yolo", f"src={tmp_path / 'c'}", f"dst={tmp_path / 'y2'}"]) == 0
    _close(_boxes(yolo(str(tmp_path / "y2"), **kwargs)), original)


@pytest.mark.parametrize("args, message", [(["from=voc", "to=yolo"], "from=voc to=yolo is not supported"),
                                           (["from=coco", "to=yolo", "src=/nowhere", "dst=x"], "src=/nowhere"),
                                           (["from=coco", "to=yolo", "colour=red"], "unknown argument 'colour=red'")])
def test_bad_arguments_are_one_error_line(args: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "convert", *args]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0], err


def test_dst_must_be_new_or_empty(coco_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "convert", "from=coco", "to=yolo", f"src={coco_dir / 'instances.json'}",
                 f"dst={coco_dir}"]) == 2
    assert "not empty" in capsys.readouterr().err
