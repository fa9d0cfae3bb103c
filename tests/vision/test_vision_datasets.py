"""Vision dataset formats, parsed from small fixtures written here, and their clear errors."""
from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from taskhub import UserError
from taskhub.testing import run_task, shared_data
from taskhub_vision import datasets


def write_idx(path, array: np.ndarray, gz: bool) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def write_mnist(root, n_train=50, n_test=20, gz=True, folder="MNIST"):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            images[i, label * 2: label * 2 + 5, :] = 255  # the label is visible in the pixels
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_gz_and_extracted_idx_files_in_place(tmp_path, gz):
    write_mnist(tmp_path, gz=gz)
    before = sorted(p.name for p in (tmp_path / "MNIST" / "raw").iterdir())
    data = datasets.mnist(str(tmp_path), val_fraction=0.2, seed=0)
    assert len(data.train) == 40 and len(data.val) == 10 and len(data.test) == 20
    item = data.train[0]
    assert item["image"].shape == (1, 28, 28) and item["image"].dtype == torch.uint8
    rows = item["image"][0].amax(dim=1).nonzero().flatten()
    assert int(rows[0]) == 2 * int(item["label"])  # image and label stay paired
    assert sorted(p.name for p in (tmp_path / "MNIST" / "raw").iterdir()) == before  # nothing written


def test_fashion_mnist_layout(tmp_path):
    write_mnist(tmp_path, folder="FashionMNIST")
    data = datasets.fashion_mnist(str(tmp_path))
    assert data.info["labels"][0] == "T-shirt/top" and len(data.test) == 20


def test_mnist_missing_files_are_named(tmp_path):
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)
    with pytest.raises(UserError, match="train-images-idx3-ubyte.*download"):
        datasets.mnist(str(tmp_path))


def test_truncated_idx_is_reported(tmp_path):
    write_mnist(tmp_path, gz=False)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(UserError, match="truncated"):
        datasets.mnist(str(tmp_path))


def test_cifar10_python_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        blob = {b"data": rng.integers(0, 255, (4, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 4))}
        (folder / name).write_bytes(pickle.dumps(blob))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [f"c{i}".encode() for i in range(10)]}))
    data = datasets.cifar10(str(tmp_path), val_fraction=0.25)
    assert len(data.train) == 15 and len(data.val) == 5 and len(data.test) == 4
    assert data.info["labels"] == [f"c{i}" for i in range(10)] and data.train[0]["image"].shape == (3, 32, 32)


def write_folder(root, classes=("cat", "dog"), n=6, size=20):
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((size, size + 4, 3), 40 + 100 * c, dtype=np.uint8)).save(root / name / f"{i}.png")


def test_imagefolder_with_own_splits(tmp_path):
    write_folder(tmp_path / "train")
    write_folder(tmp_path / "val", n=2)
    write_folder(tmp_path / "test", n=3)
    data = datasets.imagefolder(str(tmp_path), image_size=16)
    assert data.info["labels"] == ["cat", "dog"]
    assert (len(data.train), len(data.val), len(data.test)) == (12, 4, 6)
    assert data.train[0]["image"].shape == (3, 16, 16)


def test_imagefolder_carves_val_and_test_by_seed(tmp_path):
    write_folder(tmp_path, n=10)
    a = datasets.imagefolder(str(tmp_path), image_size=8, val_fraction=0.2, test_fraction=0.2, seed=3)
    b = datasets.imagefolder(str(tmp_path), image_size=8, val_fraction=0.2, test_fraction=0.2, seed=3)
    assert (len(a.train), len(a.val), len(a.test)) == (12, 4, 4)
    assert torch.equal(a.val.tensors["label"], b.val.tensors["label"])


def test_imagefolder_streaming_mode(tmp_path):
    write_folder(tmp_path / "train")
    data = datasets.imagefolder(str(tmp_path), image_size=8, in_memory=False, grayscale=True)
    assert isinstance(data.train, datasets.ImageFiles) and data.train[0]["image"].shape == (1, 8, 8)


@pytest.mark.parametrize("threshold, threads", [(0.0, "on 4 threads"), (1e9, "on 1 thread ")])
def test_in_memory_decoding_on_threads_keeps_order_and_says_how_long(tmp_path, monkeypatch, threshold, threads):
    """Threads only when the first images' decode is slow enough to gain from them; either way the
    same pixels in the same order, and one line with the time."""
    import logging

    write_folder(tmp_path, n=60)
    files = sorted(tmp_path.rglob("*.png"))
    monkeypatch.setattr("os.cpu_count", lambda: 4)  # threads even on a 1-core machine
    monkeypatch.setattr(datasets, "THREADED_DECODE_SECONDS", threshold)
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("taskhub")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        images = datasets.decode_images(files, 3, (12, 12), "train")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert images.shape == (len(files), 3, 12, 12) and images.dtype == torch.uint8
    assert all(torch.equal(images[i], datasets.read_image(f, 3, (12, 12))) for i, f in enumerate(files))
    assert any(line.startswith(f"train: decoded {len(files)} images into memory") and threads in line
               for line in lines), lines


def test_imagefolder_corrupt_image_is_named(tmp_path):
    write_folder(tmp_path / "train")
    (tmp_path / "train" / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(UserError, match="broken.jpg.*cannot read"):
        datasets.imagefolder(str(tmp_path), image_size=8)


def test_imagefolder_class_missing_from_train_is_an_error(tmp_path):
    write_folder(tmp_path / "train")
    write_folder(tmp_path / "test", classes=("cat", "dog", "bird"), n=1)
    with pytest.raises(UserError, match="bird"):
        datasets.imagefolder(str(tmp_path), image_size=8)


def test_imagefolder_trains_end_to_end(tmp_path):
    write_folder(tmp_path / "data" / "train", n=12)
    summary = run_task("vision", tmp_path / "run", "dataset=imagefolder", f"dataset.root={tmp_path / 'data'}",
                       "dataset.image_size=16", "dataset.num_workers=0", "trainer.max_epochs=3", "model=mlp")
    assert summary["dataset"] == "imagefolder" and summary["test/accuracy"] == 1.0  # two flat colours


@pytest.mark.slow
def test_real_mnist_learns(tmp_path):
    root = shared_data("mnist")
    if not (root / "MNIST" / "raw").is_dir():
        pytest.skip("../shared/data/mnist is absent")
    summary = run_task("vision", tmp_path / "run", "dataset=mnist", f"dataset.root={root}", "model=cnn",
                       "trainer.max_epochs=1", "trainer.limit_train_batches=600")
    assert summary["test/accuracy"] > 0.94
