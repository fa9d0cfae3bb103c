"""Bad detection annotations end in one line naming the file and what to do, or (dataset.on_bad=skip)
in one counted warning; nothing is used silently, and annotation files cannot point the loader
outside the data root unless dataset.allow_outside_root=true says so."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import VOC_OBJ, write_coco, write_image, write_pennfudan, write_voc

from taskhub.cli import main
from taskhub_detection.formats import coco, voc

FAST = ("trainer.num_threads=1", "trainer.max_epochs=1", "trainer.device=cpu", "trainer.progress=none",
        "model.input_size=64")


def _one_error_line(capsys, tmp_path: Path, *args: str) -> str:
    assert main(["run", "task=detection", *args, f"hydra.run.dir={tmp_path / 'run'}", *FAST]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def _coco_args(root: Path, path: Path) -> tuple[str, str]:
    return "dataset=coco", f"dataset.root={root / 'images'}", f"dataset.annotations={path}"


GOOD = [{"id": i, "file_name": f"{i}.png", "width": 64, "height": 48} for i in range(1, 5)]
BOX = [{"id": i, "image_id": i, "category_id": 3, "bbox": [2, 2, 10, 10]} for i in range(1, 5)]


def test_coco_image_without_width(tmp_path: Path, capsys) -> None:
    images = [*GOOD, {"id": 9, "file_name": "9.png", "height": 48}]
    path = write_coco(tmp_path, images, BOX, write_files=False)
    for im in images:
        write_image(tmp_path / "images" / im["file_name"])
    line = _one_error_line(capsys, tmp_path, *_coco_args(tmp_path, path))
    assert "instances.json: images[4] (9.png): has no valid width" in line and "dataset.on_bad=skip" in line


def test_coco_bbox_with_three_numbers(tmp_path: Path, capsys) -> None:
    anns = [*BOX, {"id": 77, "image_id": 2, "category_id": 3, "bbox": [1, 2, 3]}]
    path = write_coco(tmp_path, GOOD, anns)
    line = _one_error_line(capsys, tmp_path, *_coco_args(tmp_path, path))
    assert "instances.json: annotations[4] (id 77, image_id 2): bbox [1, 2, 3] is not 4 numbers" in line


def test_coco_bad_entries_skipped_and_counted(tmp_path: Path, caplog) -> None:
    images = [*GOOD, {"id": 9, "file_name": "9.png", "height": 48}]
    anns = [*BOX, {"id": 77, "image_id": 2, "category_id": 3, "bbox": [1, 2, 3]}]
    path = write_coco(tmp_path, images, anns, write_files=False)
    for im in GOOD:
        write_image(tmp_path / "images" / im["file_name"])
    with caplog.at_level(logging.WARNING, logger="taskhub"):
        data = coco(str(tmp_path / "images"), str(path), on_bad="skip", val_fraction=0, test_fraction=0)
    assert len(data.train) == 4 and sum(len(t["boxes"]) for t in data.train.targets) == 4
    assert "skipped 2 annotations" in caplog.text and "images[4]" in caplog.text


@pytest.mark.parametrize("name", ["../outside.png", "/etc/hostname"], ids=["dotdot", "absolute"])
def test_coco_file_names_leaving_the_root_are_refused(tmp_path: Path, capsys, name: str) -> None:
    write_image(tmp_path / "outside.png")
    images = [*GOOD, {"id": 9, "file_name": name, "width": 64, "height": 48}]
    path = write_coco(tmp_path, images, BOX, write_files=False)
    for im in GOOD:
        write_image(tmp_path / "images" / im["file_name"])
    line = _one_error_line(capsys, tmp_path, *_coco_args(tmp_path, path))
    assert f"file name '{name}'" in line and "leaves the data root" in line and "allow_outside_root=true" in line


def test_coco_outside_root_allowed_when_asked(tmp_path: Path) -> None:
    write_image(tmp_path / "outside.png")
    images = [*GOOD, {"id": 9, "file_name": "../outside.png", "width": 64, "height": 48}]
    path = write_coco(tmp_path, images, BOX, write_files=False)
    for im in GOOD:
        write_image(tmp_path / "images" / im["file_name"])
    data = coco(str(tmp_path / "images"), str(path), allow_outside_root=True, val_fraction=0, test_fraction=0)
    assert any(Path(p).name == "outside.png" for p in data.train.images)


def _voc_without_size(root: Path, box: tuple) -> Path:
    write_voc(root, {f"i{n}": [("dog", (2, 2, 9, 9), 0)] for n in range(4)})
    write_image(root / "JPEGImages" / "nosize.jpg", 64, 48)
    body = VOC_OBJ.format(cls="dog", b=box, difficult=0)
    (root / "Annotations" / "nosize.xml").write_text(f"<annotation><filename>nosize.jpg</filename>{body}</annotation>")
    return root


def test_voc_without_size_is_checked_against_the_real_image(tmp_path: Path, capsys) -> None:
    root = _voc_without_size(tmp_path / "VOC", (1, 1, 200, 20))
    line = _one_error_line(capsys, tmp_path, "dataset=voc", f"dataset.root={root}")
    assert "nosize.xml: box" in line and "in a 64x48 image" in line


def test_voc_without_size_reads_the_size_from_the_image(tmp_path: Path) -> None:
    root = _voc_without_size(tmp_path / "VOC", (1, 1, 30, 20))
    data = voc(str(root), max_size=None, val_fraction=0, test_fraction=0)
    i = [Path(p).stem for p in data.train.images].index("nosize")
    assert data.train.sizes[i] == (64, 48) and data.train.targets[i]["boxes"].tolist() == [[0, 0, 30, 20]]


def _voc_empty_name(root: Path) -> Path:
    return write_voc(root, {"a": [("dog", (1, 1, 10, 20), 0), ("  ", (1, 1, 5, 5), 0)],
                            "b": [("cat", (1, 1, 9, 9), 0)], "c": [("cat", (2, 2, 9, 9), 0)]})


def test_voc_empty_name(tmp_path: Path, capsys) -> None:
    root = _voc_empty_name(tmp_path / "VOC")
    line = _one_error_line(capsys, tmp_path, "dataset=voc", f"dataset.root={root}")
    assert "a.xml: <object> 2: has an empty <name>" in line


def test_voc_empty_name_skipped_and_counted(tmp_path: Path, caplog) -> None:
    root = _voc_empty_name(tmp_path / "VOC")
    with caplog.at_level(logging.WARNING, logger="taskhub"):
        data = voc(str(root), on_bad="skip")
    assert data.info["labels"] == ["cat", "dog"] and "skipped 1 annotations" in caplog.text and "empty <name>" in caplog.text


def test_voc_file_name_leaving_the_root(tmp_path: Path, capsys) -> None:
    root = write_voc(tmp_path / "VOC", {"a": [("dog", (1, 1, 10, 20), 0)], "b": [("dog", (1, 1, 9, 9), 0)]})
    xml = root / "Annotations" / "a.xml"
    xml.write_text(xml.read_text().replace("<filename>a.jpg</filename>", "<filename>../../a.jpg</filename>"))
    line = _one_error_line(capsys, tmp_path, "dataset=voc", f"dataset.root={root}")
    assert "a.xml: file name '../../a.jpg'" in line and "leaves the data root" in line


def test_pennfudan_missing_mask_skipped_and_counted(tmp_path: Path, caplog) -> None:

    from taskhub_detection.formats import pennfudan

    root = write_pennfudan(tmp_path / "PennFudanPed", count=5)
    (root / "PedMasks" / "Ped001_mask.png").unlink()
    with caplog.at_level(logging.WARNING, logger="taskhub"):
        data = pennfudan(str(tmp_path), on_bad="skip", val_fraction=0.2, test_fraction=0.2)  # the parent folder works
    assert sum(len(s) for s in (data.train, data.val, data.test)) == 4 and "skipped 1 images" in caplog.text

