"""The speech task's `auto` settings (issue 12): sample rate, mel bands and bucket size chosen from
the training clips' headers, logged, stored in the checkpoint and summary.json, reused by eval and
predict; an explicit value wins."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from taskhub.testing import cli, read_summary, run_task
from taskhub_speech import defaults

TINY = ["model=cnn", "model.channels=16", "model.blocks=[5]", "model.repeat=1", "trainer.max_epochs=1",
        "trainer.num_threads=1", "dataset.normalize.punctuation=keep"]


def test_rules():
    assert defaults.sample_rate({8000: 10}) == (8000, "every training clip is 8000 Hz")
    assert defaults.sample_rate({8000: 3, 22050: 5})[0] == 22050
    assert defaults.sample_rate({8000: 3, 16000: 3})[0] == 16000  # a tie: the higher rate
    assert defaults.sample_rate({8000: 3}, model_rate=16000)[0] == 16000  # wav2vec2 takes its own
    assert defaults.n_mels(8000, 200)[0] == 40 and defaults.n_mels(16000, 400)[0] == 64
    assert defaults.n_mels(16000, 64)[0] == 16  # at most half the 33 FFT bins
    assert defaults.bucket_size([0.4] * 10)[0] == 16 and defaults.bucket_size([6.4] * 10)[0] == 4
    assert defaults.bucket_size([2.0] * 10)[0] == 8
    assert defaults.learning_rate(True)[0] < defaults.learning_rate(False)[0]
    # 100 frames for 10 units: 4x leaves 25 >= 12.5 frames; for 21 units only 2x (50 >= 26.25) fits.
    assert defaults.time_strides([100] * 10, [10] * 10, 2)[0] == [2, 2]
    assert defaults.time_strides([100] * 10, [21] * 10, 2)[0] == [2, 1]
    assert defaults.time_strides([100] * 10, [70] * 10, 2)[0] == [1, 1]
    assert defaults.time_strides([100] * 10, [10] * 10, 1)[0] == [2]  # one conv layer halves at most once
    assert defaults.time_strides([100] * 99 + [20], [10] * 100, 3)[0] == [2, 2, 1]  # 99% of the clips fit


def _clips(folder: Path, n: int, rate: int, seconds: float) -> Path:
    from taskhub_speech.dtmf import sequence

    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        wave, text = sequence(rng, rate, 2, 3, (15.0, 25.0))
        wave = np.pad(wave, (0, max(0, int(seconds * rate) - len(wave))))
        sf.write(str(folder / f"c{i}.wav"), wave, rate)
        rows.append(json.dumps({"audio_filepath": f"c{i}.wav", "text": text}))
    (folder / "train.jsonl").write_text("\n".join(rows) + "\n")
    return folder / "train.jsonl"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("speech_auto")
    manifest = _clips(tmp, 16, 8000, 2.0)
    run_dir = tmp / "run"
    summary = run_task("speech", run_dir, "dataset=manifest", f"dataset.train={manifest}", "dataset.val_fraction=0.25",
                       "dataset.test_fraction=0.25", *TINY)
    return tmp, run_dir, summary


def test_auto_settings_follow_the_clips_and_are_recorded(trained):
    tmp, run_dir, summary = trained
    auto = summary["auto"]
    assert auto["task.features.sample_rate"] == 8000 and auto["task.features.n_mels"] == 40
    assert auto["dataset.bucket_size"] == 8  # ~16 s of audio at a median of ~2 s per clip
    assert auto["optimizer.lr"] == defaults.SCRATCH_LR
    assert read_summary(run_dir)["auto"] == auto
    ckpt = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)
    assert {k: v["value"] for k, v in ckpt["auto"].items() if k in auto} == auto


def test_eval_and_predict_reuse_the_checkpoint_choices(trained):
    tmp, run_dir, summary = trained
    proc = cli("eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"hydra.run.dir={tmp / 'eval'}",
               "trainer.device=cpu", "trainer.progress=none")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_summary(tmp / "eval")["test/cer"] == pytest.approx(summary["test/cer"], abs=1e-6)
    clip = tmp / "c0.wav"
    wave, rate = sf.read(str(clip))
    sf.write(str(tmp / "at16k.wav"), np.repeat(wave, 2), 16000)  # another rate: resampled to the run's 8 kHz
    out = tmp / "pred.jsonl"
    proc = cli("predict", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"input={tmp / 'at16k.wav'}", f"out={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads(out.read_text().splitlines()[0])
    assert row["duration"] == pytest.approx(len(wave) / rate, abs=0.01)


def test_an_explicit_value_wins(trained, tmp_path):
    tmp, _, _ = trained
    summary = run_task("speech", tmp_path / "run", "dataset=manifest", f"dataset.train={tmp / 'train.jsonl'}",
                       "task.features.sample_rate=16000", "dataset.bucket_size=3", *TINY)
    assert "task.features.sample_rate" not in summary["auto"] and "dataset.bucket_size" not in summary["auto"]
    assert summary["auto"]["task.features.n_mels"] == 64  # still chosen, now for 16 kHz


def test_the_recurrent_models_time_reduction_follows_the_transcripts(trained, tmp_path):
    tmp, _, _ = trained
    run_dir = tmp_path / "run"
    summary = run_task("speech", run_dir, "dataset=manifest", f"dataset.train={tmp / 'train.jsonl'}",
                       "dataset.val_fraction=0.25", "dataset.test_fraction=0.25", *TINY[4:], "model=crnn",
                       "model.channels=[8,8]", "model.hidden_size=16", "model.num_layers=1")
    assert summary["auto"]["model.time_strides"] == [2, 2]  # 2 s clips of 2-3 digits: 4x leaves ample frames
    assert "model.time_strides=[2, 2] (4x time reduction" in (run_dir / "launch.log").read_text()
    ckpt = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)
    assert ckpt["auto"]["model.time_strides"]["value"] == [2, 2]
    proc = cli("eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"hydra.run.dir={tmp_path / 'eval'}",
               "trainer.device=cpu", "trainer.progress=none")
    assert proc.returncode == 0, proc.stderr[-2000:]  # the model is rebuilt with the recorded strides
    assert read_summary(tmp_path / "eval")["test/cer"] == pytest.approx(summary["test/cer"], abs=1e-6)
