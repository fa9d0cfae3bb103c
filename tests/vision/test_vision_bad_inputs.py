"""Bad image data ends in one line naming the file and what to do, or (dataset.on_bad=skip) in one
counted warning that names what was left out; nothing is used or dropped silently."""
from __future__ import annotations

import gzip
import logging

import numpy as np
import pytest
from PIL import Image
from test_vision_datasets import write_folder, write_idx, write_mnist

from taskhub.cli import main
from taskhub_vision import datasets

FAST = ("trainer.num_threads=1", "trainer.max_epochs=1", "trainer.device=cpu", "trainer.progress=none")


def _one_error_line(capsys, tmp_path, *args: str) -> str:
    assert main(["run", "task=vision", *args, f"hydra.run.dir={tmp_path / 'run'}", *FAST]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_a_gz_that_is_not_gzip_is_named(tmp_path, capsys):
    write_mnist(tmp_path / "data")
    labels = tmp_path / "data" / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(b"<html>a download error page, not gzip</html>")
    line = _one_error_line(capsys, tmp_path, "dataset=mnist", f"dataset.root={tmp_path / 'data'}")
    assert "train-labels-idx1-ubyte.gz: not a valid gzip file" in line and "download it again" in line


def _labels_out_of_range(root) -> None:
    write_mnist(root)
    path = root / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    labels = np.frombuffer(gzip.decompress(path.read_bytes()), dtype=np.uint8, offset=8).copy()
    labels[[3, 7]] = [12, 255]
    write_idx(path, labels, gz=True)


def test_mnist_labels_outside_the_classes_are_one_line(tmp_path, capsys):
    _labels_out_of_range(tmp_path / "data")
    line = _one_error_line(capsys, tmp_path, "dataset=mnist", f"dataset.root={tmp_path / 'data'}")
    assert "train-labels-idx1-ubyte.gz: item 3: label 12 is outside 0-9" in line and "dataset.on_bad=skip" in line


def test_mnist_labels_outside_the_classes_skipped_and_counted(tmp_path, caplog):
    _labels_out_of_range(tmp_path)
    with caplog.at_level(logging.WARNING, logger="taskhub"):
        data = datasets.mnist(str(tmp_path), val_fraction=0.2, on_bad="skip")
    assert len(data.train) + len(data.val) == 48  # 50 written, 2 left out
    assert int(data.train.tensors["label"].max()) <= 9
    assert "skipped 2 images" in caplog.text and "item 3" in caplog.text
    assert sum(len(v) for v in data.skipped.values()) == 2


def test_an_empty_class_folder_is_one_line(tmp_path, capsys):
    write_folder(tmp_path / "data" / "train")
    (tmp_path / "data" / "train" / "bird").mkdir()
    line = _one_error_line(capsys, tmp_path, "dataset=imagefolder", f"dataset.root={tmp_path / 'data'}",
                           "dataset.num_workers=0")
    assert "train/bird: class folder holds no images" in line and "dataset.on_bad=skip" in line


def test_an_empty_class_folder_skipped_is_named_in_a_warning(tmp_path, caplog):
    write_folder(tmp_path / "train")
    (tmp_path / "train" / "bird").mkdir()
    with caplog.at_level(logging.WARNING, logger="taskhub"):
        data = datasets.imagefolder(str(tmp_path), image_size=8, on_bad="skip")
    assert data.info["labels"] == ["cat", "dog"]
    assert "skipped 1 class folders" in caplog.text and "bird" in caplog.text


def test_an_unreadable_image_in_a_folder_is_one_line(tmp_path, capsys):
    write_folder(tmp_path / "data" / "train")
    (tmp_path / "data" / "train" / "dog" / "x.png").write_bytes(b"\x89PNG broken")
    line = _one_error_line(capsys, tmp_path, "dataset=imagefolder", f"dataset.root={tmp_path / 'data'}",
                           "dataset.num_workers=0")
    assert "x.png: cannot read this image" in line


@pytest.mark.parametrize("setting", ["dataset.image_size=abc", "+dataset.colour=1"])
def test_a_bad_dataset_setting_is_one_line(tmp_path, capsys, setting):
    write_folder(tmp_path / "data" / "train")
    Image.new("RGB", (4, 4)).save(tmp_path / "data" / "train" / "cat" / "extra.png")
    line = _one_error_line(capsys, tmp_path, "dataset=imagefolder", f"dataset.root={tmp_path / 'data'}", setting)
    assert setting.lstrip("+").split("=")[0] in line
