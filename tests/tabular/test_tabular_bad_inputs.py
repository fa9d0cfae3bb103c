"""Bad rows in a user's table end in one line naming the file and line, or (dataset.on_bad=skip) in
one counted warning; nothing bad is used silently."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from taskhub.cli import main
from taskhub.testing import run_task

FAST = ("trainer.num_threads=1", "trainer.max_epochs=1", "trainer.device=cpu", "trainer.progress=none")


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, n), rng.normal(5, 2, n)
    return pd.DataFrame({"a": a, "b": b, "y": (a + (b - 5) / 2 > 0).astype(int)})


def _one_error_line(capsys, *args: str) -> str:
    assert main(["run", "task=tabular", *args, *FAST]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_a_non_number_in_a_numeric_column_names_the_line(tmp_path, capsys):
    frame = _frame().astype({"a": object})
    frame.loc[7, "a"] = "abc"  # line 9 of the file: header, then rows from 0
    frame.to_csv(tmp_path / "data.csv", index=False)
    line = _one_error_line(capsys, "dataset=csv", f"dataset.train={tmp_path / 'data.csv'}", "dataset.label=y",
                           f"hydra.run.dir={tmp_path / 'run'}")
    assert "data.csv:9: column 'a' holds 'abc', not a number" in line and "dataset.on_bad=skip" in line


def test_skip_leaves_the_row_out_counts_it_and_keeps_the_column_numeric(tmp_path, capsys):
    frame = _frame().astype({"a": object})
    frame.loc[7, "a"] = "abc"
    frame.loc[[3, 120], "y"] = np.nan
    frame.to_csv(tmp_path / "data.csv", index=False)
    summary = run_task("tabular", tmp_path / "run", "dataset=csv", f"dataset.train={tmp_path / 'data.csv'}",
                       "dataset.label=y", "dataset.on_bad=skip", "dataset.val_fraction=0", "dataset.test_fraction=0",
                       *FAST)
    # Hydra's job logging writes the warning to the console.
    warning = [line for line in capsys.readouterr().out.splitlines() if "with dataset.on_bad=skip" in line]
    assert len(warning) == 1 and "skipped 3 rows with dataset.on_bad=skip" in warning[0], warning
    assert "column 'a' holds 'abc', not a number (1)" in warning[0] and "the label 'y' is empty (2)" in warning[0]
    assert "data.csv:9" in warning[0]
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)["task_state"]["encoder"]
    assert state["numeric"] == ["a", "b"] and state["categorical"] == []  # one typo does not make 'a' categorical
    assert summary["epochs"] == 1


def test_non_numbers_in_the_test_file_are_not_imputed_silently(tmp_path, capsys):
    _frame(200, 0).to_csv(tmp_path / "train.csv", index=False)
    test = _frame(50, 1).astype({"b": object})
    test.loc[4, "b"] = "n/a?"
    test.to_csv(tmp_path / "test.csv", index=False)
    line = _one_error_line(capsys, "dataset=csv", f"dataset.train={tmp_path / 'train.csv'}",
                           f"dataset.test={tmp_path / 'test.csv'}", "dataset.label=y", f"hydra.run.dir={tmp_path / 'run'}")
    assert "test.csv:6: column 'b' holds 'n/a?', not a number" in line


def test_an_empty_label_is_an_error_by_default(tmp_path, capsys):
    frame = _frame()
    frame.loc[10, "y"] = np.nan
    frame.to_csv(tmp_path / "data.csv", index=False)
    line = _one_error_line(capsys, "dataset=csv", f"dataset.train={tmp_path / 'data.csv'}", "dataset.label=y",
                           f"hydra.run.dir={tmp_path / 'run'}")
    assert "data.csv:12: the label 'y' is empty" in line


def test_unknown_and_mistyped_dataset_settings_are_one_line(tmp_path, capsys):
    _frame().to_csv(tmp_path / "data.csv", index=False)
    base = ["dataset=csv", f"dataset.train={tmp_path / 'data.csv'}", "dataset.label=y", f"hydra.run.dir={tmp_path / 'r'}"]
    line = _one_error_line(capsys, *base, "+dataset.val_fractoin=0.2")
    assert "dataset.val_fractoin" in line and "did you mean 'val_fraction'" in line
    line = _one_error_line(capsys, *base, "dataset.val_fraction=abc")
    assert "dataset.val_fraction='abc': expected a number" in line
    for value in ("abc", "0", "-4", "1.5"):
        line = _one_error_line(capsys, *base, f"dataset.batch_size={value}")
        assert "dataset.batch_size=" in line and "positive integer" in line


def test_the_deprecated_path_key_still_reads_the_file(tmp_path, capsys):
    _frame().to_csv(tmp_path / "data.csv", index=False)
    with pytest.warns(DeprecationWarning, match="dataset.path"):
        summary = run_task("tabular", tmp_path / "run", "dataset=csv", f"dataset.path={tmp_path / 'data.csv'}",
                           "dataset.label=y", *FAST)
    assert summary["epochs"] == 1
    assert "dataset.path is deprecated: use dataset.train" in capsys.readouterr().out
