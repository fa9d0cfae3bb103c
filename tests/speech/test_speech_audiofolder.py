"""dataset=audiofolder (Hugging Face's layout: metadata.csv beside the clips): transcripts and
splits parse, a short run trains, and a missing clip or empty transcription is one line or counted."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from taskhub import UserError
from taskhub.cli import main
from taskhub_speech.audiofolder import audiofolder

RATE = 8000
TINY = ["model=cnn", "model.channels=16", "model.blocks=[5]", "model.repeat=1", "trainer.max_epochs=1",
        "trainer.device=cpu", "trainer.progress=none", "trainer.num_threads=1", "dataset.bucket_size=4"]


def _clip(path: Path, seconds: float = 0.5) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(RATE * seconds)) / RATE
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), RATE)


def write_audiofolder(folder: Path, count: int, column: str = "transcription", extra: str = "") -> Path:
    for i in range(count):
        _clip(folder / "clips" / f"{i}.wav", 0.25 + 0.05 * i)
    rows = "".join(f"clips/{i}.wav,word {i}\n" for i in range(count))
    (folder / "metadata.csv").write_text(f"file_name,{column}\n{rows}{extra}")
    return folder


def test_split_folders_and_transcripts(tmp_path: Path) -> None:
    write_audiofolder(tmp_path / "train", 6)
    write_audiofolder(tmp_path / "validation", 2)
    data = audiofolder(str(tmp_path), test_fraction=0.5, seed=0)
    assert len(data.val) == 2 and len(data.train) == 3 and len(data.test) == 3
    texts = sorted(u.text for u in data.train + data.test)
    assert texts == [f"word {i}" for i in range(6)]
    first = next(u for u in data.val if u.text == "word 1")
    assert first.sample_rate == RATE and first.duration == pytest.approx(0.30)
    assert sorted(data.info["sample_rates"]) == [RATE]


def test_one_metadata_file_is_carved_and_the_column_is_settable(tmp_path: Path) -> None:
    write_audiofolder(tmp_path, 10, column="sentence")
    with pytest.raises(UserError, match="no column 'transcription'.*dataset.transcription_column"):
        audiofolder(str(tmp_path))
    data = audiofolder(str(tmp_path), transcription_column="sentence", val_fraction=0.2)
    assert len(data.train) == 8 and len(data.val) == 2 and data.test is None


def test_missing_clip_and_empty_transcription_fail_in_one_line_or_are_counted(tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture) -> None:
    write_audiofolder(tmp_path, 8, extra="clips/gone.wav,hello\nclips/0.wav,\n")
    code = main(["run", "task=speech", "dataset=audiofolder", f"dataset.root={tmp_path}",
                 f"hydra.run.dir={tmp_path / 'run'}", *TINY])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(err) == 1 and "metadata.csv:10" in err[0] and "audio file not found" in err[0], err
    data = audiofolder(str(tmp_path), on_bad="skip")
    assert sum(len(v) for v in data.skipped.values()) == 2
    assert len(data.train) + len(data.val) == 8


def test_short_run_trains(tmp_path: Path) -> None:
    from taskhub.testing import read_summary

    write_audiofolder(tmp_path / "data", 12)
    assert main(["run", "task=speech", "dataset=audiofolder", f"dataset.root={tmp_path / 'data'}",
                 "dataset.test_fraction=0.2", f"hydra.run.dir={tmp_path / 'run'}", *TINY]) == 0
    summary = read_summary(tmp_path / "run")
    assert summary["dataset"] == "audiofolder" and "test/cer" in summary
