"""``taskhub data check task=speech``: durations and transcript lengths per split, histograms and
spectrograms (with colour bars) of training clips."""
from __future__ import annotations

from taskhub.cli import main
from taskhub.testing import assert_picture


def test_speech_data_check_durations_and_spectrograms(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TASKHUB_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "check"
    code = main(["data", "check", "task=speech", "dataset=dtmf", "dataset.num_samples=30", "dataset.min_keys=2",
                 "dataset.max_keys=3", f"out={out}"])
    printed = capsys.readouterr().out
    assert code == 0
    train = next(line for line in printed.splitlines() if line.startswith("data train: "))
    assert train.startswith("data train: 24 examples; seconds ")
    assert "transcript characters 3..5" in train  # "1 2" .. "1 2 3"
    report = (out / "data_report.md").read_text()
    assert "| seconds | train |" in report and "| transcript characters | test |" in report
    for name in ("data_spectrograms.png", "data_seconds.png", "data_transcript_characters.png"):
        assert_picture(out / name)
