"""Bad audio (issue 10): clips shorter than one feature window, unreadable files, manifest paths.
Each ends in one `error:` line naming the file (taskhub.cli.main in-process, exit 2) or, with
dataset.on_bad=skip, in one warning that counts what was left out; never a crash."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from taskhub.cli import main
from taskhub_speech import datasets

RATE = 8000
TINY = ["model=cnn", "model.channels=16", "model.blocks=[5]", "model.repeat=1", "trainer.max_epochs=1",
        "trainer.device=cpu", "trainer.progress=none", "trainer.num_threads=1", "dataset.bucket_size=4",
        "dataset.normalize.punctuation=keep"]


def _tone(path: Path, samples: int) -> Path:
    t = np.arange(samples) / RATE
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), RATE)
    return path


def _manifest(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"audio_filepath": a, "text": t}) + "\n" for a, t in rows))
    return path


def _corpus(tmp_path: Path, extra: list[tuple[str, str]]) -> list[str]:
    rows = [(_tone(tmp_path / f"c{i}.wav", RATE // 2).name, "a b") for i in range(8)]
    train = _manifest(tmp_path / "train.jsonl", rows + extra)
    test = _manifest(tmp_path / "test.jsonl", rows[:2])
    return ["dataset=manifest", f"dataset.train={train}", f"dataset.test={test}", "dataset.val_fraction=0.25"]


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]


def test_clip_shorter_than_the_feature_window_is_one_error_line(tmp_path, capsys):
    short = _tone(tmp_path / "short.wav", 60)  # 7.5 ms at 8 kHz: less than one 25 ms window
    args = _corpus(tmp_path, [("short.wav", "a")])
    code = main(["run", "task=speech", *args, f"hydra.run.dir={tmp_path / 'run'}", *TINY])
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1, errors
    assert f"{short}: shorter than one feature window (25 ms" in errors[0] and "dataset.on_bad=skip" in errors[0]


def test_short_and_unreadable_clips_are_skipped_and_counted(tmp_path, capfd):
    _tone(tmp_path / "short.wav", 60)
    (tmp_path / "junk.wav").write_bytes(b"RIFF but not really")
    args = _corpus(tmp_path, [("short.wav", "a"), ("junk.wav", "b")])
    code = main(["run", "task=speech", *args, "dataset.on_bad=skip", f"hydra.run.dir={tmp_path / 'run'}", *TINY])
    out = "".join(capfd.readouterr())
    assert code == 0, out[-3000:]
    assert "skipped 1 audio files" in out and "junk.wav" in out and "unreadable audio" in out, out[-3000:]
    assert "skipped 1 audio clips" in out and "short.wav" in out and "shorter than one feature window" in out


def test_predict_reports_a_too_short_file_and_transcribes_the_rest(tmp_path, capsys):
    args = _corpus(tmp_path, [])
    assert main(["run", "task=speech", *args, f"hydra.run.dir={tmp_path / 'run'}", *TINY]) == 0
    inputs = tmp_path / "inputs"
    _tone(inputs / "ok.wav", RATE // 2)
    _tone(inputs / "tiny.wav", 10)
    out = tmp_path / "pred.jsonl"
    code = main(["predict", f"ckpt={tmp_path / 'run' / 'checkpoints' / 'best.pt'}", f"input={inputs}", f"out={out}"])
    assert code == 0, capsys.readouterr().err[-2000:]
    rows = {Path(r["input"]).name: r for r in map(json.loads, out.read_text().splitlines())}
    assert "shorter than one feature window" in rows["tiny.wav"]["error"] and "transcript" in rows["ok.wav"]


def test_manifest_paths_relative_to_its_folder_and_absolute_ones_kept(tmp_path):
    inside = _tone(tmp_path / "data" / "audio" / "a.wav", RATE // 2)
    outside = _tone(tmp_path / "elsewhere" / "b.wav", RATE // 2)
    up = _tone(tmp_path / "up.wav", RATE // 2)
    m = _manifest(tmp_path / "data" / "train.jsonl", [("audio/a.wav", "a"), (str(outside), "b"), ("../up.wav", "c")])
    items = datasets.read_manifest(m)
    assert [u.audio.resolve() for u in items] == [inside.resolve(), outside.resolve(), up.resolve()]
    splits = datasets.manifest(str(m), val_fraction=0.0)
    assert splits.info["sample_rates"] == {RATE: 3} and len(splits.info["durations"]) == 3
