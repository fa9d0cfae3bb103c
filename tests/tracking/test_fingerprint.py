"""Data fingerprints change when the data change and stay when they do not."""
from __future__ import annotations

import os
import random
from pathlib import Path

import torch
from torch.utils.data import Dataset, Subset

from taskhub.data import InMemoryDataset, Splits
from taskhub.tracking.fingerprint import FileHashCache, fingerprint_dataset, fingerprint_splits


class Files(Dataset):
    """A file dataset as plugins write them: paths and labels."""

    def __init__(self, files: list[Path], labels: list[int]) -> None:
        self.files, self.labels = files, labels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> bytes:
        return self.files[i].read_bytes()


class Lazy(Dataset):
    """Holds no data of its own (it computes items), with a random augmentation."""

    def __len__(self) -> int:
        return 10

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.full((3,), float(i)) + torch.rand(3) + random.random()


def make_files(root: Path, n: int = 4) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = root / f"{i}.bin"
        path.write_bytes(bytes([i]) * 1000)
        paths.append(path)
    return paths


def test_files_same_data_same_fingerprint_and_the_cache_is_used(tmp_path):
    files = make_files(tmp_path / "data")
    first = fingerprint_dataset(Files(files, [0, 1, 0, 1]))
    assert first["method"] == "files" and first["files"] == 4 and first["examples"] == 4 and first["bytes"] == 4000
    cache = FileHashCache()
    second = fingerprint_dataset(Files(files, [0, 1, 0, 1]), cache=cache)
    assert (cache.hits, cache.misses) == (4, 0)  # unchanged files are not read again
    cache.close()
    assert second["sha256"] == first["sha256"]
    # The same content elsewhere is the same data.
    moved = make_files(tmp_path / "copy")
    assert fingerprint_dataset(Files(moved, [0, 1, 0, 1]))["sha256"] == first["sha256"]


def test_files_changed_content_same_size_changes_the_fingerprint(tmp_path):
    files = make_files(tmp_path / "data")
    before = fingerprint_dataset(Files(files, [0, 1, 0, 1]))["sha256"]
    stat = files[2].stat()
    files[2].write_bytes(b"\xff" * 1000)  # same size
    os.utime(files[2], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert fingerprint_dataset(Files(files, [0, 1, 0, 1]))["sha256"] != before


def test_labels_and_subsets_count(tmp_path):
    files = make_files(tmp_path / "data")
    base = fingerprint_dataset(Files(files, [0, 1, 0, 1]))["sha256"]
    assert fingerprint_dataset(Files(files, [1, 1, 0, 1]))["sha256"] != base  # a relabelled image
    full = Files(files, [0, 1, 0, 1])
    a, b = fingerprint_dataset(Subset(full, [0, 1, 2])), fingerprint_dataset(Subset(full, [0, 1, 3]))
    assert a["examples"] == 3 and a["sha256"] != b["sha256"]
    assert fingerprint_dataset(Subset(full, [0, 1, 2]))["sha256"] == a["sha256"]


def test_in_memory_tensors(tmp_path):
    x = torch.arange(60, dtype=torch.float32).reshape(20, 3)
    y = torch.arange(20) % 2
    first = fingerprint_dataset(InMemoryDataset({"x": x, "y": y}))
    assert first["method"] == "tensors" and first["examples"] == 20
    assert fingerprint_dataset(InMemoryDataset({"x": x.clone(), "y": y.clone()}))["sha256"] == first["sha256"]
    x2 = x.clone()
    x2[7, 1] += 1e-3
    assert fingerprint_dataset(InMemoryDataset({"x": x2, "y": y}))["sha256"] != first["sha256"]


def test_lazy_dataset_falls_back_to_items_held_still():
    a, b = fingerprint_dataset(Lazy()), fingerprint_dataset(Lazy())
    assert a["method"] == "items" and a["sha256"] == b["sha256"]  # the augmentation's randomness is fixed
    state = torch.get_rng_state()
    fingerprint_dataset(Lazy())
    assert torch.equal(torch.get_rng_state(), state)  # and the run's own generators are left alone


def test_splits_and_declared_files(tmp_path):
    files = make_files(tmp_path / "data")
    tensors = InMemoryDataset({"x": torch.zeros(5, 2)})
    annotations = tmp_path / "labels.csv"
    annotations.write_text("a,b\n")
    splits = Splits(train=tensors, test=tensors, info={"files": {"train": [annotations]}})
    fp = fingerprint_splits(splits)
    assert set(fp) == {"train", "test"} and fp["train"]["files"] == 1 and fp["test"]["files"] == 0
    annotations.write_text("a,c\n")
    assert fingerprint_splits(splits)["train"]["sha256"] != fp["train"]["sha256"]
    assert fingerprint_splits(splits)["test"]["sha256"] == fp["test"]["sha256"]
    assert fingerprint_splits(Splits(train=Files(files, [0] * 4)))["train"]["method"] == "files"


def test_a_transform_does_not_change_the_data(tmp_path):
    """Train-time augmentation on, eval-time off: the same files, the same fingerprint."""
    files = make_files(tmp_path / "data")
    plain, augmented = Files(files, [0, 1, 0, 1]), Files(files, [0, 1, 0, 1])
    plain.transform, augmented.transform = None, lambda item: item
    assert fingerprint_dataset(plain)["sha256"] == fingerprint_dataset(augmented)["sha256"]
