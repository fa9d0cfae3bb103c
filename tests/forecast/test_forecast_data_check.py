"""``taskhub data check task=forecast``: windows and series length per split, value ranges."""
from __future__ import annotations

from taskhub.cli import main


def test_forecast_data_check_series_lengths_and_ranges(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path / "cache"))
    values = [float(i % 7) for i in range(200)]
    (tmp_path / "s.csv").write_text("t,value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    out = tmp_path / "check"
    code = main(["data", "check", "task=forecast", "dataset=csv", f"dataset.train={tmp_path / 's.csv'}",
                 "dataset.time_column=t", f"out={out}"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "series steps 140" in printed.out and "data test: " in printed.out
    assert "| value | train | number | 0 | 6 |" in (out / "data_report.md").read_text()
