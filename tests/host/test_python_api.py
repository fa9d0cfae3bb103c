"""The Python API: taskhub.run matches the CLI, takes in-memory data, and taskhub.load predicts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import taskhub
from taskhub.data import memory
from taskhub.testing import cli, read_summary

SMALL = ["trainer.device=cpu", "trainer.progress=none", "trainer.num_threads=1", "trainer.max_epochs=2",
         "dataset.num_samples=1000", "dataset.batch_size=64", "seed=7"]


def test_run_returns_the_same_metrics_as_the_cli(tmp_path):
    proc = cli("run", "task=tabular", f"hydra.run.dir={tmp_path / 'cli'}", *SMALL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from_cli = read_summary(tmp_path / "cli")
    from_api = taskhub.run("tabular", [f"hydra.run.dir={tmp_path / 'api'}", *SMALL])
    assert from_api == read_summary(tmp_path / "api")  # what it returns is what it wrote
    metrics = sorted(k for k in from_cli if k.startswith(("val/", "test/")))
    assert metrics and metrics == sorted(k for k in from_api if k.startswith(("val/", "test/")))
    for key in metrics:
        assert from_api[key] == pytest.approx(from_cli[key], rel=1e-5, abs=1e-6), key


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20)) * 5 + 10
    y = (X[:, :5].sum(1) > 50).astype(int)
    return X, y


def test_keras_style_fit_on_numpy_arrays(tmp_path):
    X_train, y_train = _blobs(1200, 0)
    summary = taskhub.run("tabular", [f"hydra.run.dir={tmp_path}", "trainer.num_threads=1", "trainer.progress=none"],
                          data=(X_train, y_train), epochs=10, batch_size=32, device="cpu")
    assert summary["dataset"] == "arrays" and summary["epochs"] == 10
    assert summary["val/accuracy"] > 0.85  # a 15% validation split is carved out of the training arrays
    assert not memory._registry  # the arrays are released when the run ends
    X_new, y_new = _blobs(200, 1)
    out = taskhub.load(tmp_path / "checkpoints" / "best.pt", device="cpu").predict(X_new)
    assert np.mean([o["label"] for o in out] == y_new) > 0.85


def test_pandas_splits_scale_with_training_statistics_only(tmp_path):
    X, y = _blobs(900, 2)
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(20)]).assign(target=np.where(y == 1, "yes", "no"))
    train, val = frame.iloc[:600], frame.iloc[600:].assign(c0=lambda f: f.c0 + 1000)  # val shifted on purpose
    summary = taskhub.run("tabular", [f"hydra.run.dir={tmp_path}", "dataset.label=target", "trainer.progress=none",
                                      "trainer.num_threads=1"], data={"train": train, "val": val}, epochs=1,
                          device="cpu")
    assert "val/accuracy" in summary and "test/accuracy" not in summary  # no test split given, none carved
    state = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["task_state"]["encoder"]
    assert state["mean"][0] == pytest.approx(train.c0.mean())
    assert state["classes"] == ["no", "yes"]


def test_forecast_on_a_numpy_series(tmp_path):
    t = np.arange(600)
    values = 20 + 5 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 0.5, 600)
    summary = taskhub.run("forecast", [f"hydra.run.dir={tmp_path}", "task.input_length=24", "task.horizon=6",
                                       "task.season=12", "trainer.progress=none", "trainer.num_threads=1"],
                          data=values, epochs=2, batch_size=64, device="cpu")
    assert {"test/mae", "test/naive_mae", "test/relative_mae"} <= set(summary)
    [out] = taskhub.load(tmp_path / "checkpoints" / "best.pt", device="cpu").predict(values[-24:])
    assert len(out["forecast"]) == 6


def test_memory_registry():
    assert memory.as_splits((1, 2)) == {"train": (1, 2), "val": None, "test": None}
    assert memory.as_splits({"train": 1, "test": 3}) == {"train": 1, "val": None, "test": 3}
    with pytest.raises(taskhub.UserError, match="use only 'train', 'val' and 'test'"):
        memory.as_splits({"train": 1, "valid": 2})
    with pytest.raises(taskhub.UserError, match="at least a 'train'"):
        memory.as_splits({"val": 1})
    key = memory.register_data([1])
    assert memory.memory_data(key)["train"] == [1]
    memory.release_data(key)
    with pytest.raises(taskhub.UserError, match="dataset=arrays is for the Python API"):
        memory.memory_data(key)
