"""``taskhub data check task=tabular``: class counts, each raw column's range and missing cells."""
from __future__ import annotations

from taskhub.cli import main


def test_tabular_data_check_columns_and_missing_values(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path / "cache"))
    rows = ["a,b,colour,y"] + [f"{i / 10},{'' if i % 5 == 0 else i % 4},{'red' if i % 2 else 'blue'},{'yes' if i > 9 else 'no'}"
                               for i in range(20)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "check"
    code = main(["data", "check", "task=tabular", "dataset=csv", f"dataset.train={tmp_path / 't.csv'}", "dataset.label=y",
                 "dataset.val_fraction=0.0", "dataset.test_fraction=0.0", f"out={out}"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "data train: 20 examples; per class: no 10, yes 10" in printed
    assert "warning: train: missing values in 1 columns: b (4)" in printed
    report = (out / "data_report.md").read_text()
    assert "| a | train | number | 0 | 1.9 | 0 | 20 |" in report
    assert "| colour | train | category |   |   | 0 | 2 |" in report
