"""taskhub.data.safe_unpickle reads data-only pickles and refuses code; CIFAR-10 batches go through it."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from taskhub.data import safe_unpickle
from taskhub.errors import UserError


class _Payload:
    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_reads_containers_numbers_and_numpy_arrays(protocol):
    value = {b"data": np.arange(12, dtype=np.uint8).reshape(3, 4), b"labels": [1, 2, np.int64(3)],
             "name": "x", "f": 1.5, "t": (1, {2}), "none": None}
    out = safe_unpickle(pickle.dumps(value, protocol=protocol))
    assert out["name"] == "x" and out["t"] == (1, {2}) and out["none"] is None
    assert out[b"data"].dtype == np.uint8 and out[b"data"].tolist() == value[b"data"].tolist()
    assert out[b"labels"] == [1, 2, 3]


def test_code_in_a_pickle_is_refused(tmp_path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "blob.pkl"
    path.write_bytes(pickle.dumps({"x": _Payload(marker)}))
    with pytest.raises(UserError) as info:
        safe_unpickle(path)
    assert str(path) in str(info.value) and "system" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UserError, match="not a readable pickle"):
        safe_unpickle(b"\x80\x04garbage", source="g.pkl")
    assert not marker.exists()


def write_cifar(folder, payload=None):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        blob = {b"data": rng.integers(0, 255, (4, 3072), dtype=np.uint8), b"labels": [int(v) for v in rng.integers(0, 10, 4)]}
        if payload is not None and name == "data_batch_3":
            blob[b"filenames"] = [payload]
        (folder / name).write_bytes(pickle.dumps(blob, protocol=2))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [f"c{i}".encode() for i in range(10)]}))


def test_crafted_cifar_batch_is_refused_and_runs_nothing(tmp_path):
    from taskhub_vision import datasets

    marker = tmp_path / "MARKER"
    write_cifar(tmp_path / "cifar-10-batches-py", payload=_Payload(marker))
    with pytest.raises(UserError) as info:
        datasets.cifar10(str(tmp_path))
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "cifar-10-batches-py" / "data_batch_3") in message
    assert "refused" in message
    assert not marker.exists()


def test_cifar_batch_of_the_wrong_shape_is_one_line(tmp_path):
    from taskhub_vision import datasets

    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(UserError, match="test_batch: not a CIFAR-10 batch"):
        datasets.cifar10(str(tmp_path))
