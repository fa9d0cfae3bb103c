"""``taskhub data check`` and the check at the start of every run: good data pass with the right
counts and a report with pictures; bad data exit 2 with one line per blocking problem; near-duplicate
labels and train/test copies are found; the run-start check is cached by the data fingerprint."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from taskhub.cli import main
from taskhub.data import InMemoryDataset, Splits, describe_splits
from taskhub.datacheck.checks import near_duplicate_labels, run_checks
from taskhub.testing import assert_picture, read_summary, run_task

FAST = ("task=vision", "dataset=imagefolder", "dataset.image_size=16", "dataset.num_workers=0")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path / "cache"))


def _images(folder: Path, counts: dict[str, int], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for label, n in counts.items():
        (folder / label).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / label / f"{i}.png")


def test_good_data_exit_0_with_counts_report_and_pictures(tmp_path, capsys):
    _images(tmp_path / "data" / "train", {"cat": 6, "dog": 4})
    _images(tmp_path / "data" / "test", {"cat": 2, "dog": 3}, seed=1)
    out = tmp_path / "check"
    code = main(["data", "check", *FAST, f"dataset.root={tmp_path / 'data'}", "dataset.val_fraction=0.0", f"out={out}"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "data train: 10 examples; per class: cat 6, dog 4" in printed
    assert "data test: 5 examples; per class: cat 2, dog 3" in printed
    report = (out / "data_report.md").read_text()
    assert "**Usable**: yes" in report and "| cat | 6 | 2 |" in report
    assert_picture(out / "data_samples.png")
    assert_picture(out / "data_labels.png")
    assert "data_samples.png" in report


def test_near_duplicate_labels_and_train_test_copies_are_warned(tmp_path, capsys):
    data = tmp_path / "data"
    _images(data / "train", {"Pos": 4, "pos ": 3, "negative": 4})
    _images(data / "test", {"negative": 2}, seed=5)
    (data / "test" / "negative" / "copy.png").write_bytes((data / "train" / "negative" / "0.png").read_bytes())
    code = main(["data", "check", *FAST, f"dataset.root={data}", "dataset.val_fraction=0.0", f"out={tmp_path / 'c'}"])
    printed = capsys.readouterr().out
    assert code == 0  # suspicious, not blocking
    assert "labels look like the same class: 'Pos', 'pos '" in printed
    assert "1 of 3 test examples also occur in train (same content)" in printed
    assert "in train (same content): test[" in printed  # in-memory images: named by split and index


def test_one_class_only_exits_2_with_one_line(tmp_path, capsys):
    _images(tmp_path / "data", {"only": 6})
    code = main(["data", "check", *FAST, f"dataset.root={tmp_path / 'data'}", f"out={tmp_path / 'c'}"])
    err = capsys.readouterr().err
    assert code == 2
    problems = [line for line in err.splitlines() if line.startswith("problem: ")]
    assert problems == ["problem: the training split has one class only ('only'): classification needs at least two"]
    assert "**Usable**: no" in (tmp_path / "c" / "data_report.md").read_text()


def test_blocking_problems_one_line_each():
    def ds(labels: list[int]) -> InMemoryDataset:
        return InMemoryDataset({"x": torch.arange(len(labels) * 2.0).reshape(-1, 2), "label": torch.tensor(labels)})

    data = Splits(train=ds([0, 0, 1]), val=ds([]) if False else InMemoryDataset({"label": torch.zeros(0, dtype=torch.long)}),
                  test=ds([0, 2]), info={"labels": ["a", "b", "c"]})
    result = run_checks(describe_splits(data, samples=0), {"unreadable image": ["x/1.png", "x/2.png"]})
    assert result.problems == [
        "the val split is empty: add examples or let it be carved from train (dataset.val_fraction)",
        "class 'c' has no training examples: add some or remove the class",
        "the test split has classes that training never has: c",
    ]
    assert "2 skipped (unreadable image): x/1.png, x/2.png" in result.warnings
    assert result.summary["splits"]["train"] == {"examples": 3, "classes": {"a": 2, "b": 1, "c": 0}}
    assert result.summary["skipped"] == {"unreadable image": 2}


def test_near_duplicates_ignore_case_punctuation_and_digits():
    found = near_duplicate_labels(["Positive", "positive.", "negativ", "negative", "class_1", "class_2", "cat"])
    assert found[0] == "labels look like the same class: 'Positive', 'positive.'"
    assert any("'negativ' and 'negative'" in line for line in found)
    assert not any("class_1" in line for line in found)  # differ in digits only: distinct classes


def test_run_start_check_is_cached_and_stored_in_summary(tmp_path, monkeypatch):
    from taskhub.datacheck import core

    calls = []
    real = core.describe
    monkeypatch.setattr(core, "describe", lambda *a, **k: calls.append(1) or real(*a, **k))
    _images(tmp_path / "data", {"cat": 8, "dog": 8})
    args = (*FAST[1:], f"dataset.root={tmp_path / 'data'}", "model=mlp", "trainer.max_epochs=1")
    run_task("vision", tmp_path / "r1", *args)
    run_task("vision", tmp_path / "r2", *args)
    assert len(calls) == 1  # the second run reused the first one's check (same data fingerprint)
    for run in ("r1", "r2"):
        data = read_summary(tmp_path / run)["data"]
        assert sum(data["splits"][s]["examples"] for s in data["splits"]) == 16
        assert set(data["splits"]["train"]["classes"]) == {"cat", "dog"}
        assert "**Usable**: yes" in (tmp_path / run / "data_report.md").read_text()
    cached = list((tmp_path / "cache" / "datacheck").glob("*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["summary"]["splits"]["train"]["examples"] > 0


def test_data_help(capsys):
    assert main(["data", "check", "task=vision", "--help"]) == 0
    assert "Exit status 0" in capsys.readouterr().out
    for argv in (["data", "--help"], ["data", "check", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
        assert "check" in capsys.readouterr().out


def test_completion_offers_data_sub_verbs():
    from taskhub.completion import candidates

    assert "check " in candidates("taskhub data ")
    assert candidates("taskhub data check ta") == ["task="]
