"""Bad rows in text files (issue 10): one `error:` line naming file:line, or a counted warning with
dataset.on_bad=skip; never a class called "". Run through the CLI in-process."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskhub.cli import main

FAST = ["model=mlp", "trainer.max_epochs=1", "trainer.device=cpu", "trainer.progress=none", "trainer.num_threads=1"]
GOOD = [("a fine film", "pos"), ("a bad film", "neg"), ("great acting", "pos"), ("dull plot", "neg")] * 6


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in rows), encoding="utf-8")
    return path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _errors(capsys) -> list[str]:
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_empty_csv_label_is_one_error_line_naming_file_and_line(tmp_path, capsys):
    train = _csv(tmp_path / "train.csv", GOOD[:3] + [("no label here", "")] + GOOD[3:])
    code = main(["run", "task=text", "dataset=csv", f"dataset.train={train}", f"hydra.run.dir={tmp_path / 'run'}", *FAST])
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1, errors
    assert f"{train}:5: empty label" in errors[0] and "dataset.on_bad=skip" in errors[0]


@pytest.mark.parametrize("bad", [{"text": "no label", "label": ""}, {"text": "no label", "label": None}],
                         ids=["empty-string", "null"])
def test_empty_jsonl_label_is_one_error_line(tmp_path, capsys, bad):
    rows = [{"text": t, "label": y} for t, y in GOOD]
    train = _jsonl(tmp_path / "train.jsonl", rows[:2] + [bad] + rows[2:])
    code = main(["run", "task=text", "dataset=jsonl", f"dataset.train={train}", f"hydra.run.dir={tmp_path / 'run'}", *FAST])
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1 and f"{train}:3: empty label" in errors[0], errors


def test_on_bad_skip_leaves_bad_rows_out_with_one_counted_warning(tmp_path, capfd):
    train = _csv(tmp_path / "train.csv", GOOD[:3] + [("no label here", ""), ("  ", "pos")] + GOOD[3:])
    code = main(["run", "task=text", "dataset=csv", f"dataset.train={train}", "dataset.on_bad=skip",
                 f"hydra.run.dir={tmp_path / 'run'}", *FAST])
    out = "".join(capfd.readouterr())
    assert code == 0, out[-2000:]
    assert out.count("skipped 2 rows") == 1 and "empty label" in out and "empty text" in out, out[-2000:]
    labels = json.loads((tmp_path / "run" / "labels.json").read_text())
    assert labels == ["neg", "pos"]  # no class called ""


def test_old_empty_key_still_works_with_a_deprecation_warning(tmp_path):
    from taskhub_text.datasets import csv

    train = _csv(tmp_path / "train.csv", GOOD[:3] + [("  ", "pos")] + GOOD[3:])
    with pytest.warns(FutureWarning, match="dataset.empty is deprecated: use dataset.on_bad"):
        splits = csv(str(train), empty="skip")
    assert sum(splits.sizes().values()) == len(GOOD)
    assert splits.skipped == {"empty text": [f"{train}:5"]}


def test_hf_builds_from_a_local_saved_dataset(tmp_path):
    """dataset=hf could never build (its `config` key collided with instantiate, `name` was dropped)."""
    datasets = pytest.importorskip("datasets", reason="the datasets package is not installed (it needs pyarrow "
                                                      ">= 21; the tested set pins pyarrow 17)")
    rows = {"text": [t for t, _ in GOOD], "label": [0 if y == "neg" else 1 for _, y in GOOD]}
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows, features=features),
                          "test": datasets.Dataset.from_dict(rows, features=features)}).save_to_disk(str(tmp_path / "ds"))
    code = main(["run", "task=text", "dataset=hf", f"dataset.name={tmp_path / 'ds'}", "dataset.config=null",
                 f"hydra.run.dir={tmp_path / 'run'}", *FAST])
    assert code == 0
    assert json.loads((tmp_path / "run" / "labels.json").read_text()) == ["neg", "pos"]


def test_hf_without_the_package_or_offline_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    code = main(["run", "task=text", "dataset=hf", "dataset.name=surely-not-a-dataset/xyz", "dataset.config=plain",
                 f"hydra.run.dir={tmp_path / 'run'}", *FAST])
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1, errors
    try:
        import datasets  # noqa: F401
    except ImportError:
        assert "dataset=hf needs the 'datasets' package" in errors[0]
    else:
        assert "dataset.name=surely-not-a-dataset/xyz: cannot load it" in errors[0] and "local folder" in errors[0]
