"""task=forecast end to end: beating seasonal-naive, chronological splits, training-only scaling, CSV, predict."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

import taskhub
from taskhub.testing import assert_picture, run_task
from taskhub_forecast.datasets import Series, synthetic
from taskhub_forecast.task import ForecastTask
from taskhub_forecast.windows import seasonal_naive, window_starts

FAST = ("trainer.num_threads=1", "dataset.batch_size=64")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("forecast")
    summary = run_task("forecast", run_dir, *FAST, "trainer.max_epochs=10", "dataset.length=2000")
    return run_dir, summary


def test_default_beats_seasonal_naive(default_run):
    run_dir, summary = default_run
    assert summary["model"] == "lstm" and summary["objective"]["name"] == "val/mae"
    assert summary["test/mae"] < summary["test/naive_mae"]
    assert summary["test/relative_mae"] == pytest.approx(summary["test/mae"] / summary["test/naive_mae"], rel=1e-4)
    assert summary["test/relative_mae"] < 0.95
    assert 0 < summary["test/mape"] < 0.05 and summary["test/rmse"] >= summary["test/mae"]
    assert_picture(run_dir / "forecast.png")
    assert_picture(run_dir / "predicted_vs_actual.png")


def test_load_predicts_from_a_raw_series(default_run):
    run_dir, summary = default_run
    series = Series.from_splits(synthetic(length=2000, seed=summary["seed"]))
    predictor = taskhub.load(run_dir / "checkpoints" / "best.pt", device="cpu")
    history, future = series.values[:1900, 0], series.values[1900:1912, 0]
    [out] = predictor.predict(history)           # one 1-D array
    assert len(out["forecast"]) == 12 and out["columns"] == ["value"]
    model_error = np.abs(np.array(out["forecast"]) - future).mean()
    assert model_error < 4.0                      # the daily swing is +-15 around a level of ~70
    assert predictor.predict(list(history)) == [out]  # a plain list is one series too
    two = predictor.predict([history, history[:-24]])
    assert len(two) == 2 and two[0]["forecast"] == out["forecast"]
    with pytest.raises(taskhub.UserError, match="reads the last 48"):
        predictor.predict(history[:10])


def _task(**dataset) -> ForecastTask:
    cfg = OmegaConf.create({
        "task": {"name": "forecast", "input_length": 24, "horizon": 6, "stride": 1, "season": 12},
        "dataset": {"_target_": "taskhub_forecast.datasets.synthetic", "length": 600, "season": 12, "seed": 0,
                    "batch_size": 8, **dataset},
        "model": {"_target_": "taskhub_forecast.models.Recurrent", "cell": "gru", "hidden_size": 8},
    })
    return ForecastTask(cfg)


def test_chronological_splits_never_leak():
    task = _task()
    data = task.build_data("fit")
    series = task.series
    t = {name: getattr(data, name).tensors["t"] for name in ("train", "val", "test")}
    h = task.horizon
    # Every target of a split lies inside its own time range, and ranges are in time order.
    assert int(t["train"].max()) + h <= series.train_end <= int(t["val"].min())
    assert int(t["val"].max()) + h <= series.val_end <= int(t["test"].min())
    assert int(t["test"].max()) + h == len(series.values)
    # Windows hold exactly the past inputs and future targets of the (scaled) series.
    scaled = torch.tensor(task.scale(series.values), dtype=torch.float32)
    w = data.test.tensors
    i = 5
    start = int(w["t"][i])
    assert torch.equal(w["x"][i], scaled[start - 24:start]) and torch.equal(w["y"][i], scaled[start:start + h])


def test_scaling_uses_the_training_range_only():
    task = _task()
    task.build_data("fit")
    train = task.series.values[: task.series.train_end]
    np.testing.assert_allclose(task.mean, train.mean(0))
    np.testing.assert_allclose(task.std, train.std(0))
    assert task.mean[0] < task.series.values.mean(0)[0]  # the trend lifts later ranges: they must not leak in
    # eval reuses the checkpointed statistics, even on other data
    other = _task(level=500.0)
    other.load_state_dict(task.state_dict())
    other.build_data("eval")
    assert other.mean == task.mean


def test_window_starts_and_seasonal_naive():
    starts = window_starts(100, 130, input_length=24, horizon=6, stride=1)
    assert starts[0] + 24 == 100 and starts[-1] + 24 + 6 == 130
    x = torch.arange(24, dtype=torch.float32).view(1, 24, 1)
    assert seasonal_naive(x, horizon=6, season=12)[0, :, 0].tolist() == [12, 13, 14, 15, 16, 17]
    assert seasonal_naive(x, horizon=3, season=1)[0, :, 0].tolist() == [23, 23, 23]
    assert seasonal_naive(x, horizon=14, season=12)[0, 12:, 0].tolist() == [12, 13]  # two seasons back
    with pytest.raises(taskhub.UserError, match="input_length"):
        seasonal_naive(x, horizon=6, season=30)


@pytest.mark.parametrize("model", ["gru", "cnn"])
def test_user_csv_with_time_column_and_two_series(tmp_path, model):
    n = 700
    t = np.arange(n)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "date": pd.date_range("2024-01-01", periods=n, freq="D").astype(str),
        "sales": 100 + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1, n),
        "visits": 50 + 5 * np.cos(2 * np.pi * t / 7) + rng.normal(0, 1, n),
        "note": "x",
    }).sample(frac=1.0, random_state=0)  # shuffled rows: the time column orders them
    frame.loc[frame.index[:5], "sales"] = np.nan
    csv = tmp_path / "shop.csv"
    frame.to_csv(csv, index=False)
    summary = run_task("forecast", tmp_path / "run", *FAST, f"model={model}", "dataset=csv", f"dataset.train={csv}",
                       "dataset.time_column=date", "task.input_length=21", "task.horizon=7", "task.season=7",
                       "trainer.max_epochs=3")
    assert {"test/mae", "test/naive_mae", "test/relative_mae"} <= set(summary)
    assert (tmp_path / "run" / "forecast.png").is_file()
    predictor = taskhub.load(tmp_path / "run" / "checkpoints" / "best.pt", device="cpu")
    [out] = predictor.predict(pd.read_csv(csv).sort_values("date").tail(30))
    assert out["columns"] == ["sales", "visits"] and np.array(out["forecast"]).shape == (7, 2)
    [from_file] = predictor.predict(str(csv))  # a history file (shuffled rows: ordered by its date column)
    np.testing.assert_allclose(from_file["forecast"], out["forecast"], rtol=1e-5)


def test_csv_errors_name_the_column(tmp_path):
    csv = tmp_path / "s.csv"
    pd.DataFrame({"day": range(100), "v": np.arange(100.0)}).to_csv(csv, index=False)
    with pytest.raises(taskhub.UserError, match=r"s\.csv: no time column 'date'.*day, v"):
        run_task("forecast", tmp_path / "r", "dataset=csv", f"dataset.train={csv}", "dataset.time_column=date")


def test_csv_pieces_in_separate_files_are_joined_in_order(tmp_path):
    values = np.arange(300.0)
    pd.DataFrame({"v": values[:200]}).to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame({"v": values[200:250]}).to_csv(tmp_path / "val.csv", index=False)
    pd.DataFrame({"v": values[250:]}).to_csv(tmp_path / "test.csv", index=False)
    from taskhub_forecast.datasets import csv

    splits = csv(str(tmp_path / "train.csv"), str(tmp_path / "val.csv"), str(tmp_path / "test.csv"))
    assert [len(splits.train), len(splits.val), len(splits.test)] == [200, 50, 50]
    assert splits.val[0, 0] == 200 and splits.test[-1, 0] == 299
    only_test = csv(str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"), val_fraction=0.1)
    assert [len(only_test.train), len(only_test.val), len(only_test.test)] == [180, 20, 50]  # val: the end of train
    with pytest.warns(DeprecationWarning, match="dataset.path"):
        assert len(csv(path=str(tmp_path / "train.csv"), val_fraction=0.1, test_fraction=0.1).train) == 160
