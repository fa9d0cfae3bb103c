"""Learning on the built-in keypad-tone data, then predict and eval from the checkpoint."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from taskhub.testing import cli, read_summary, run_task, shared_data

# The cnn model learns the tones fastest on a shared CPU (~1 min); SpecAugment off to keep it short.
QUICK = ["model=cnn", "model.channels=64", "model.blocks=[11,13]", "dataset.num_samples=800",
         "dataset.bucket_size=8", "optimizer.lr=3e-3", "task.spec_augment=null", "trainer.max_epochs=5",
         "trainer.num_threads=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("speech") / "run"
    summary = run_task("speech", run_dir, *QUICK)
    return run_dir, summary


def test_default_data_is_learned(trained):
    run_dir, summary = trained
    # An empty hypothesis scores CER 1.0; a model that learned nothing stays near it.
    assert summary["test/cer"] < 0.35, summary
    assert summary["test/wer"] < 0.6, summary
    assert summary["objective"]["name"] == "val/wer"
    assert read_summary(run_dir)["dataset"] == "dtmf"
    worst = (run_dir / "worst_utterances.md").read_text()
    assert worst.count("| dtmf-") == 20


def test_predict_writes_transcripts_and_reports_bad_files(trained, tmp_path):
    from taskhub_speech.dtmf import sequence

    run_dir, _ = trained
    rng = np.random.default_rng(123)
    truths = {}
    for i in range(4):
        wave, text = sequence(rng, 16000, 3, 5, (20.0, 25.0))
        rate = 8000 if i == 0 else 16000  # predict resamples, like training
        if rate != 16000:
            wave = wave[::2]
        path = tmp_path / f"clip{i}.wav"
        sf.write(str(path), np.stack([wave, wave], axis=1), rate)  # stereo: mixed down to mono
        truths[str(path)] = text
    (tmp_path / "broken.wav").write_bytes(b"junk")
    out = tmp_path / "pred.jsonl"
    proc = cli("predict", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"input={tmp_path}", f"out={out}")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5
    bad = [r for r in rows if "error" in r]
    assert len(bad) == 1 and "broken.wav: unreadable audio" in bad[0]["error"]
    good = [r for r in rows if "transcript" in r]
    assert all(r["duration"] > 0 for r in good)
    from taskhub_speech.metrics import edit_distance

    errors = sum(edit_distance(r["transcript"], truths[r["input"]]) for r in good)
    assert errors / sum(len(truths[r["input"]]) for r in good) < 0.5, (good, truths)


def test_eval_reuses_the_checkpoint_vocabulary(trained, tmp_path):
    run_dir, summary = trained
    proc = cli("eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", *QUICK[3:5],
               f"hydra.run.dir={tmp_path / 'eval'}", "trainer.device=cpu", "trainer.progress=none")
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = read_summary(tmp_path / "eval")
    assert again["test/cer"] == pytest.approx(summary["test/cer"], abs=1e-6)


@pytest.mark.slow
def test_fsdd_real_recordings(tmp_path):
    root = shared_data("fsdd", "recordings")
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    summary = run_task("speech", tmp_path / "run", "dataset=fsdd", f"dataset.root={root}", "model=cnn",
                       "trainer.max_epochs=4")  # cosine over 4 epochs: val WER ~0.15 (0.02 after the recipe's 20)
    assert summary["test/wer"] < 0.3, summary


def test_run_directory_has_the_speech_plots(trained):
    from taskhub.testing import assert_picture
    from taskhub_speech.metrics import edit_distance

    run_dir, _ = trained
    for name in ("error_by_length.png", "spectrogram.png", "learning_curves.png"):
        assert_picture(run_dir / name)
    lines = (run_dir / "worst_utterances.md").read_text().splitlines()
    assert lines[0].startswith("# speech / cnn / dtmf: worst-recognized test utterances (20 of ")
    header = lines.index("| rank | id | CER | WER | reference | hypothesis | S | D | I | alignment |")
    totals = [0, 0, 0]
    for row in lines[header + 2:]:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        reference, hypothesis = ([] if c == "(empty)" else c.split() for c in cells[4:6])
        s, d, i = map(int, cells[6:9])
        # The counts are a minimal alignment: they add up to the word edit distance ...
        assert s + d + i == edit_distance(hypothesis, reference)
        # ... and account for every word on both sides.
        assert len(reference) - s - d == len(hypothesis) - s - i >= 0
        totals = [totals[0] + s, totals[1] + d, totals[2] + i]
    assert sum(totals) > 0  # these are the worst utterances: some words are wrong
    assert f"{totals[0]} substitutions, {totals[1]} deletions, {totals[2]} insertions" in lines[2]
