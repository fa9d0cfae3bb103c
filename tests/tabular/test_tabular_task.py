"""task=tabular end to end: learning on the default, CSV/parquet sources, training-only scaling, predict."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import taskhub
from taskhub.testing import assert_picture, cli, read_summary, run_task
from taskhub_tabular.datasets import parquet, synthetic
from taskhub_tabular.encoding import Encoder

# Small and single-threaded: CI machines are shared, and thread oversubscription costs far more than it gains.
FAST = ("trainer.num_threads=1", "dataset.batch_size=64")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tabular")
    summary = run_task("tabular", run_dir, *FAST, "trainer.max_epochs=6", "dataset.num_samples=2500")
    return run_dir, summary


def test_default_learns_far_above_chance(default_run):
    run_dir, summary = default_run
    assert summary["task"] == "tabular" and summary["dataset"] == "synthetic"
    assert summary["objective"]["name"] == "val/accuracy"
    assert summary["test/accuracy"] > 0.8  # balanced binary labels: chance is 0.5
    assert summary["test/auroc"] > 0.88
    assert 0 < summary["test/f1"] <= 1
    assert (run_dir / "checkpoints" / "best.pt").is_file()


def test_classification_plots_are_written_and_readable(default_run):
    run_dir, _ = default_run
    for name in ("confusion_matrix.png", "confusion_matrix_normalized.png", "per_class_scores.png", "roc_curves.png",
                 "pr_curves.png", "learning_curves.png"):
        assert_picture(run_dir / name)


def test_scaler_is_fitted_on_the_training_split_and_checkpointed(default_run):
    run_dir, summary = default_run
    state = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["task_state"]["encoder"]
    table = synthetic(num_samples=2500, seed=summary["seed"])
    train = table.train[state["numeric"]].to_numpy()
    everything = pd.concat([table.train, table.val, table.test])[state["numeric"]].to_numpy()
    np.testing.assert_allclose(state["mean"], train.mean(0), rtol=1e-9)
    np.testing.assert_allclose(state["std"], train.std(0), rtol=1e-9)
    assert not np.allclose(state["mean"], everything.mean(0), rtol=1e-6)
    assert state["classes"] == [0, 1] and state["kind"] == "classification"


def test_load_predicts_raw_rows(default_run):
    run_dir, summary = default_run
    table = synthetic(num_samples=2500, seed=summary["seed"])
    rows = table.test.drop(columns="label")
    predictor = taskhub.load(run_dir / "checkpoints" / "best.pt", device="cpu")
    out = predictor.predict(rows)  # a DataFrame of raw (unscaled) rows
    assert len(out) == len(rows)
    accuracy = np.mean([o["label"] == y for o, y in zip(out, table.test["label"])])
    assert accuracy == pytest.approx(summary["test/accuracy"], abs=1e-6)
    assert set(out[0]["probabilities"]) == {"0", "1"}
    # The same rows as dicts and as a plain array in training column order.
    assert predictor.predict(rows.iloc[:3].to_dict("records")) == out[:3]
    assert predictor.predict(rows.to_numpy()[:3]) == out[:3]


def test_encoder_uses_train_statistics_only():
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0, np.nan], "c": ["x", "y", "x", None], "y": [0, 1, 0, 1]})
    other = pd.DataFrame({"a": [1000.0, np.nan], "c": ["z", "y"], "y": [1, 0]})
    enc = Encoder.fit(train, "y", None, None, "auto", "mean", "train.csv")
    assert enc.numeric == ["a"] and enc.categorical == ["c"] and enc.vocab == [["x", "y"]]
    assert enc.mean == [2.0] and enc.std == pytest.approx([np.std([1, 2, 3])])
    t = enc.encode(other, "val.csv")
    assert t["num"][0, 0] == pytest.approx((1000 - 2) / np.std([1, 2, 3]), rel=1e-5)
    assert t["num"][1, 0] == 0.0          # missing -> the training mean
    assert t["cat"].tolist() == [[0], [2]]  # unseen category -> 0
    with pytest.raises(taskhub.UserError, match="missing values in column"):
        Encoder.fit(train, "y", None, None, "auto", "error", "train.csv")


def _regression_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(100, 20, n), rng.normal(0, 0.01, n)
    city = rng.choice(["paris", "oslo", "rome"], n)
    price = 3 * (x1 - 100) / 20 + 200 * x2 + pd.Series(city).map({"paris": 4.0, "oslo": -4.0, "rome": 0.0}).to_numpy()
    frame = pd.DataFrame({"size": x1, "age": x2, "city": city, "price": price + rng.normal(0, 0.3, n)})
    frame.loc[::17, "size"] = np.nan  # missing values, imputed with the training mean
    return frame


def test_user_csv_regression_with_categories_and_missing_values(tmp_path):
    csv = tmp_path / "houses.csv"
    _regression_frame(1500, 0).to_csv(csv, index=False)
    summary = run_task("tabular", tmp_path / "run", *FAST, "dataset=csv", f"dataset.train={csv}", "dataset.label=price",
                       "trainer.max_epochs=8", "optimizer.lr=0.003")
    assert summary["objective"] == {"name": "val/rmse", "mode": "min", "value": summary["objective"]["value"]}
    assert summary["test/r2"] > 0.8
    assert summary["test/rmse"] < 2.5
    assert_picture(tmp_path / "run" / "predicted_vs_actual.png")
    predictor = taskhub.load(tmp_path / "run" / "checkpoints" / "best.pt", device="cpu")
    out = predictor.predict({"size": 100.0, "age": 0.0, "city": "paris"})
    assert out[0]["prediction"] == pytest.approx(4.0, abs=2.0)

    # The CLI: eval reuses the checkpoint's scaler and vocabularies; predict reads rows from a CSV.
    best = tmp_path / "run" / "checkpoints" / "best.pt"
    proc = cli("eval", f"ckpt={best}", f"hydra.run.dir={tmp_path / 'eval'}", "trainer.num_threads=1",
               "trainer.progress=none")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_summary(tmp_path / "eval")["test/rmse"] == pytest.approx(summary["test/rmse"], rel=1e-4)
    proc = cli("predict", f"ckpt={best}", f"input={csv}", "trainer.device=cpu")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1500 and "prediction" in lines[0]


def test_csv_errors_name_the_file_and_the_column(tmp_path):
    csv = tmp_path / "data.csv"
    pd.DataFrame({"a": [1, 2], "b": [0, 1]}).to_csv(csv, index=False)
    with pytest.raises(taskhub.UserError, match=r"data\.csv: no label column 'target'.*columns are: a, b"):
        run_task("tabular", tmp_path / "r1", "dataset=csv", f"dataset.train={csv}", "dataset.label=target")
    with pytest.raises(taskhub.UserError, match="csv file not found: .*nope.csv"):
        run_task("tabular", tmp_path / "r2", "dataset=csv", f"dataset.train={tmp_path / 'nope.csv'}", "dataset.label=b")


def test_parquet_source_with_given_test_file(tmp_path):
    pytest.importorskip("pyarrow", exc_type=ImportError, reason="pyarrow does not import here (it needs a matching numpy)")
    frame = _regression_frame(200, 1)
    frame.iloc[:150].to_parquet(tmp_path / "train.parquet")
    frame.iloc[150:].to_parquet(tmp_path / "test.parquet")
    table = parquet(str(tmp_path / "train.parquet"), "price", test=str(tmp_path / "test.parquet"),
                    val_fraction=0.2, test_fraction=0.5, seed=0)
    assert (len(table.train), len(table.val), len(table.test)) == (120, 30, 50)
