"""Every loader on small fixtures written here, and the bad-input policy."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from taskhub import UserError
from taskhub.testing import read_summary, run_task, shared_data
from taskhub_speech import datasets

RATE = 8000
BASE = ["trainer.max_epochs=1", "trainer.num_threads=1", "task.features.sample_rate=8000", "task.features.n_mels=20"]
CNN_TINY = ["model=cnn", "model.channels=16", "model.blocks=[5]", "model.repeat=1"]
TINY = BASE + CNN_TINY


def write_tone(path: Path, seconds: float = 0.3, rate: int = RATE, freq: float = 440.0, fmt: str | None = None) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * np.random.default_rng(0).normal(size=len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave.astype(np.float32), rate, format=fmt)
    return path


def write_manifest(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_manifest_relative_and_absolute_paths(tmp_path):
    a = write_tone(tmp_path / "audio" / "a.wav")
    b = write_tone(tmp_path / "elsewhere" / "b.wav")
    m = write_manifest(tmp_path / "train.jsonl", [
        {"audio_filepath": "audio/a.wav", "duration": 0.3, "text": "Hello"},
        {"audio_filepath": str(b), "duration": 0.3, "text": "World"},
    ])
    items = datasets.read_manifest(m)
    assert [u.audio for u in items] == [a, b] and [u.text for u in items] == ["Hello", "World"]


def test_manifest_missing_audio_and_missing_manifest(tmp_path):
    write_tone(tmp_path / "a.wav")
    m = write_manifest(tmp_path / "train.jsonl", [
        {"audio_filepath": "a.wav", "text": "x"}, {"audio_filepath": "gone1.wav", "text": "y"},
        {"audio_filepath": "gone2.wav", "text": "z"}])
    with pytest.raises(UserError, match=r"train.jsonl: 2 audio files not found \(line 2: gone1.wav, line 3: gone2.wav\)"):
        datasets.read_manifest(m)
    with pytest.raises(UserError, match="manifest not found: .*nope.jsonl"):
        datasets.manifest(train=str(tmp_path / "nope.jsonl"))
    (tmp_path / "bad.jsonl").write_text('{"audio": "a.wav"}\n')
    with pytest.raises(UserError, match="bad.jsonl:1: not a manifest line"):
        datasets.read_manifest(tmp_path / "bad.jsonl")


def test_librispeech_layout_with_flac(tmp_path):
    for split, speaker in (("train-clean-100", "19"), ("dev-clean", "84")):
        chapter = tmp_path / split / speaker / "198"
        lines = []
        for n in range(3):
            uid = f"{speaker}-198-{n:04d}"
            write_tone(chapter / f"{uid}.flac", fmt="FLAC")
            lines.append(f"{uid} HELLO WORLD {n}")
        (chapter / f"{speaker}-198.trans.txt").write_text("\n".join(lines) + "\n")
    corpus = datasets.librispeech(str(tmp_path), test=None, test_fraction=0.34, seed=0)
    assert len(corpus.val) == 3 and len(corpus.train) + len(corpus.test) == 3 and len(corpus.test) == 1
    assert corpus.val[0].id == "84-198-0000" and corpus.val[0].text == "HELLO WORLD 0"
    assert corpus.val[0].audio.suffix == ".flac"
    (tmp_path / "dev-clean" / "84" / "198" / "84-198-0001.flac").unlink()
    with pytest.raises(UserError, match="1 audio files named in \\*.trans.txt not found"):
        datasets.librispeech(str(tmp_path), test=None)


def test_ljspeech_uses_normalized_text(tmp_path):
    root = tmp_path / "LJSpeech-1.1"
    rows = []
    for n in range(10):
        uid = f"LJ001-{n:04d}"
        write_tone(root / "wavs" / f"{uid}.wav", rate=22050)
        rows.append(f"{uid}|Mr. Smith paid $5|Mister Smith paid five dollars {n}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    corpus = datasets.ljspeech(str(root), val_fraction=0.2, test_fraction=0.2, seed=1)
    assert (len(corpus.train), len(corpus.val), len(corpus.test)) == (6, 2, 2)
    assert all(u.text.startswith("Mister Smith paid five dollars") for u in corpus.train)
    assert len(datasets.ljspeech(str(tmp_path)).train) == 8  # the folder the archive was unpacked into
    with pytest.raises(UserError, match="metadata.csv"):
        datasets.ljspeech(str(root / "wavs"))


def test_fsdd_standard_split_and_words(tmp_path):
    for digit in (0, 7):
        for index in range(8):
            write_tone(tmp_path / f"{digit}_jackson_{index}.wav")
    corpus = datasets.fsdd(str(tmp_path), val_fraction=0.25, seed=0)
    assert len(corpus.test) == 10 and {u.text for u in corpus.test} == {"zero", "seven"}
    assert all(int(u.id.split("_")[2]) <= 4 for u in corpus.test)
    assert len(corpus.train) + len(corpus.val) == 6 and len(corpus.val) == 2
    write_tone(tmp_path / "notes.wav")
    with pytest.raises(UserError, match="1 .wav files not named"):
        datasets.fsdd(str(tmp_path))
    with pytest.raises(UserError, match="dataset.root"):
        datasets.fsdd(str(tmp_path / "absent"))


def _dtmf_manifests(tmp_path: Path, n_train: int = 24, n_test: int = 6, extra: list[dict] | None = None) -> tuple[Path, Path]:
    from taskhub_speech.dtmf import sequence

    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        rows = []
        for i in range(n):
            wave, text = sequence(rng, RATE, 2, 4, (10.0, 20.0))
            sf.write(str(tmp_path / f"{split}{i}.wav"), wave, RATE)
            rows.append({"audio_filepath": f"{split}{i}.wav", "duration": len(wave) / RATE, "text": text})
        out[split] = write_manifest(tmp_path / f"{split}.jsonl", rows + (extra or [] if split == "train" else []))
    return out["train"], out["test"]


def _manifest_overrides(train: Path, test: Path, model: list[str] = CNN_TINY) -> list[str]:
    return ["dataset=manifest", f"dataset.train={train}", f"dataset.test={test}", "dataset.val_fraction=0.2",
            "dataset.normalize.punctuation=keep", "dataset.bucket_size=4", *BASE, *model]


def test_manifest_run_scores_its_test_split_and_records_it(tmp_path):
    """One epoch from manifests (no learning asked of it): the test split is scored and the scores land
    in summary.json."""
    train, test = _dtmf_manifests(tmp_path)
    summary = run_task("speech", tmp_path / "run", *_manifest_overrides(train, test))
    assert all(math.isfinite(summary[key]) for key in ("test/wer", "test/cer")), summary
    assert read_summary(tmp_path / "run")["test/cer"] == summary["test/cer"]
    table = (tmp_path / "run" / "worst_utterances.md").read_text()
    assert "| rank | id | CER | WER | reference | hypothesis |" in table and "test:" in table
    assert (tmp_path / "run" / "spectrogram.png").stat().st_size > 1000


def test_bad_audio_is_an_error_or_skipped_with_a_count(tmp_path, capfd):
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    sf.write(str(tmp_path / "empty.wav"), np.zeros(0, dtype=np.float32), RATE)
    bad = [{"audio_filepath": "broken.wav", "text": "1"}, {"audio_filepath": "empty.wav", "text": "2"}]
    train, test = _dtmf_manifests(tmp_path, extra=bad)
    with pytest.raises(UserError, match=r"broken.wav: unreadable audio.*dataset.on_bad=skip"):
        run_task("speech", tmp_path / "run", *_manifest_overrides(train, test))
    capfd.readouterr()
    summary = run_task("speech", tmp_path / "run2", *_manifest_overrides(train, test), "dataset.on_bad=skip")
    assert "test/cer" in summary
    logged = "".join(capfd.readouterr())  # Hydra routes logging to the console, not to caplog
    assert logged.count("skipped 2 audio files") == 1 and "skipped 2 audio clips" not in logged, logged
    assert re.search(r"unreadable audio.*empty audio", logged) and "broken.wav" in logged, logged


def test_old_on_bad_audio_key_still_works_with_a_warning(tmp_path, capfd):
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    train, test = _dtmf_manifests(tmp_path, n_train=8, n_test=2, extra=[{"audio_filepath": "broken.wav", "text": "1"}])
    with pytest.warns(FutureWarning, match="dataset.on_bad_audio is deprecated: use dataset.on_bad"):
        run_task("speech", tmp_path / "run", *_manifest_overrides(train, test), "+dataset.on_bad_audio=skip")
    assert "skipped 1 audio files" in "".join(capfd.readouterr())


def test_oov_and_unalignable_clips_are_reported(tmp_path, capfd):
    train, test = _dtmf_manifests(tmp_path)
    write_tone(tmp_path / "short.wav", seconds=0.05)
    rows = [json.loads(line) for line in test.read_text().splitlines()]
    rows.append({"audio_filepath": "short.wav", "text": "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5"})  # too many labels
    rows.append({"audio_filepath": "test0.wav", "text": "A B"})  # letters never seen in training (lowercased by normalize)
    write_manifest(test, rows)
    rows = [json.loads(line) for line in train.read_text().splitlines()]
    rows.append({"audio_filepath": "short.wav", "text": "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5"})
    write_manifest(train, rows)
    summary = run_task("speech", tmp_path / "run", *_manifest_overrides(train, test))
    messages = " ".join(capfd.readouterr())
    assert "test: 1 transcripts contain characters outside the vocabulary 'ab'" in messages
    assert "train: 1 clips have more units than output frames" in messages and "left out of training" in messages
    assert "test: 1 clips have more units than output frames; they are kept" in messages
    assert summary["test/cer"] > 0


def test_given_vocabulary_and_missing_root_errors(tmp_path):
    with pytest.raises(UserError, match="dataset.root"):
        run_task("speech", tmp_path / "run", "dataset=fsdd", f"dataset.root={tmp_path / 'nowhere'}", *TINY)
    with pytest.raises(UserError, match="task.units=word"):
        train, test = _dtmf_manifests(tmp_path, n_train=6, n_test=2)
        run_task("speech", tmp_path / "run", *_manifest_overrides(train, test), "task.units=word")


W2V_TINY = ["model=wav2vec2", "model.config.hidden_size=32", "model.config.num_hidden_layers=1",
            "model.config.num_attention_heads=2", "model.config.intermediate_size=64",
            "model.config.conv_dim=[16,16]", "model.config.conv_stride=[5,4]", "model.config.conv_kernel=[10,4]",
            "model.config.num_conv_pos_embeddings=16", "model.config.num_conv_pos_embedding_groups=2"]


@pytest.mark.parametrize("extra", [
    ["task.units=bpe", "task.bpe_vocab_size=24", "model=crnn", "model.channels=[8,8]", "model.hidden_size=16", "model.num_layers=1"],
    ["model=lstm", "model.hidden_size=16", "model.num_layers=1", "task.features.kind=mfcc", "task.features.n_mfcc=13"],
    ["task.decoder.type=beam", "task.decoder.beam_width=4", *CNN_TINY],
    W2V_TINY,
], ids=["bpe-crnn", "lstm-mfcc", "beam", "wav2vec2-small"])
def test_models_units_and_decoders_run_end_to_end(tmp_path, extra):
    train, test = _dtmf_manifests(tmp_path, n_train=12, n_test=4)
    summary = run_task("speech", tmp_path / "run", *_manifest_overrides(train, test, model=[]), *extra)
    assert {"test/wer", "test/cer"} <= set(summary)
    assert (tmp_path / "run" / "spectrogram.png").is_file()


def test_real_data_layouts_parse():
    fsdd = shared_data("fsdd", "recordings")
    lj = shared_data("ljspeech_subset", "LJSpeech-1.1")
    if not fsdd.is_dir() or not lj.is_dir():
        pytest.skip("../shared/data is absent")
    corpus = datasets.fsdd(str(fsdd))
    assert len(corpus.test) == 300 and len(corpus.train) + len(corpus.val) == 2700  # 6 speakers x 10 digits x 5
    corpus = datasets.ljspeech(str(lj))
    assert len(corpus.train) + len(corpus.val) + len(corpus.test) == 385 and len(corpus.test) == 39
