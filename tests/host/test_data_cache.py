"""The generated-data cache (taskhub.data.cached_tensors): a built-in dataset is drawn once per
machine and settings, read back identical, rebuilt when damaged, and never needed to run."""
from __future__ import annotations

import torch

from taskhub.data import cached_tensors
from taskhub.data.cache import cache_path


def _counting_builder(calls: list[int]):
    def build() -> dict[str, torch.Tensor]:
        calls.append(1)
        return {"x": torch.arange(12).reshape(3, 4), "y": torch.tensor([0, 1, 0])}
    return build


def test_built_once_then_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path))
    calls: list[int] = []
    first = cached_tensors("toy", {"version": 1, "n": 3}, _counting_builder(calls))
    again = cached_tensors("toy", {"version": 1, "n": 3}, _counting_builder(calls))
    assert calls == [1] and cache_path("toy", {"version": 1, "n": 3}).is_file()
    assert all(torch.equal(first[k], again[k]) for k in ("x", "y"))
    cached_tensors("toy", {"version": 2, "n": 3}, _counting_builder(calls))  # other settings: built anew
    assert calls == [1, 1]
    assert not list(tmp_path.rglob(".toy*"))  # no temporary file left behind


def test_a_damaged_file_is_rebuilt_and_an_unwritable_folder_only_means_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path))
    calls: list[int] = []
    path = cache_path("toy", {"n": 3})
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    assert cached_tensors("toy", {"n": 3}, _counting_builder(calls))["y"].tolist() == [0, 1, 0]
    assert calls == [1] and torch.load(path, weights_only=True)["y"].tolist() == [0, 1, 0]  # replaced
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(blocked))  # a file where the folder should be
    assert cached_tensors("toy", {"n": 3}, _counting_builder(calls))["x"].shape == (3, 4)
    assert calls == [1, 1]


def test_the_builtin_shapes_come_back_identical_from_the_cache(tmp_path, monkeypatch):
    from taskhub_vision.datasets import shapes

    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path))
    drawn = shapes(size=16, num_samples=60, seed=3)
    assert len(list((tmp_path / "generated").glob("shapes-*.pt"))) == 1
    read = shapes(size=16, num_samples=60, seed=3)
    for split in ("train", "val", "test"):
        a, b = getattr(drawn, split), getattr(read, split)
        assert len(a) == len(b) > 0
        for i in range(len(a)):
            assert torch.equal(a[i]["image"], b[i]["image"]) and int(a[i]["label"]) == int(b[i]["label"])
