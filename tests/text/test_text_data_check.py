"""``taskhub data check task=text``: class counts in the task's label order, token lengths, a
table of sample texts, a near-duplicate label and a test text that is also in train."""
from __future__ import annotations

from taskhub.cli import main
from taskhub.testing import assert_picture


def test_text_data_check(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path / "cache"))
    rows = ["text,label"] + [f"good film number {i},pos" for i in range(6)] + [f"bad film {i},neg" for i in range(6)]
    rows += ["great fun,Pos"]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "test.csv").write_text("text,label\nbad film 3,neg\nnice,pos\n")
    out = tmp_path / "check"
    code = main(["data", "check", "task=text", "dataset=csv", f"dataset.train={tmp_path / 'train.csv'}",
                 f"dataset.test={tmp_path / 'test.csv'}", "dataset.val_fraction=0.0", f"out={out}"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "data train: 13 examples; per class: Pos 1, neg 6, pos 6; tokens 2..4" in printed
    assert "labels look like the same class: 'Pos', 'pos'" in printed
    assert "1 of 2 test examples also occur in train (same content)" in printed
    samples = (out / "data_samples.md").read_text()
    assert "| neg | bad film" in samples and "| Pos | great fun |" in samples
    assert_picture(out / "data_tokens.png")
