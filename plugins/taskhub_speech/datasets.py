"""Speech corpora in their standard layouts, each returned as a :class:`Corpus` of utterances.

Loaders only parse layouts and transcripts (cheap, no audio decoding): the task reads,
resamples and featurizes the audio in one place, so bad files are counted and reported the
same way for every loader.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from taskhub import UserError
from taskhub.data import require_dir, require_file, seeded_split


@dataclass
class Utterance:
    """One clip and its raw transcript. ``audio`` is a file or an already-decoded mono waveform."""

    id: str
    text: str
    audio: Path | torch.Tensor
    sample_rate: int | None = None   # of ``audio`` when it is a waveform


@dataclass
class Corpus:
    train: list[Utterance]
    val: list[Utterance]
    test: list[Utterance] = field(default_factory=list)


def _carve(items: list[Utterance], val_fraction: float, test_fraction: float, seed: int) -> Corpus:
    train, val, test = seeded_split(len(items), val_fraction, test_fraction, seed)
    pick = lambda idx: [items[i] for i in idx.tolist()]  # noqa: E731
    return Corpus(pick(train), pick(val), pick(test))


def _missing(kind: str, source: str, missing: list[str], hint: str) -> UserError:
    shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
    return UserError(f"{source}: {len(missing)} {kind} not found ({shown}); {hint}")


# --- built-in default -------------------------------------------------------------------------
def dtmf(sample_rate: int, num_samples: int = 3000, val_fraction: float = 0.1, test_fraction: float = 0.1,
         min_keys: int = 2, max_keys: int = 7, snr_db: tuple[float, float] = (5.0, 25.0), seed: int = 0) -> Corpus:
    """Generated keypad-tone sequences (see :mod:`taskhub_speech.dtmf`); no download."""
    from taskhub_speech.dtmf import generate

    clips = generate(num_samples, sample_rate, seed, min_keys, max_keys, tuple(snr_db))
    items = [Utterance(f"dtmf-{i:05d}", text, wave, sample_rate) for i, (wave, text) in enumerate(clips)]
    return _carve(items, val_fraction, test_fraction, seed)


# --- NeMo-style manifests ---------------------------------------------------------------------
def read_manifest(path: str | Path) -> list[Utterance]:
    """JSON lines with ``audio_filepath`` (relative to the manifest or absolute) and ``text``;
    ``duration`` is optional (the audio is measured anyway). Missing files are one error with a count."""
    path = require_file(path, "manifest", hint=" (JSON lines with audio_filepath and text)")
    items, missing = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            audio, text = row["audio_filepath"], row["text"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise UserError(f"{path}:{n}: not a manifest line with audio_filepath and text ({exc})") from None
        file = Path(audio).expanduser()
        file = file if file.is_absolute() else path.parent / file
        if not file.is_file():
            missing.append(f"line {n}: {audio}")
            continue
        items.append(Utterance(f"{path.stem}:{n}", str(text), file))
    if missing:
        raise _missing("audio files", str(path), missing, "fix the paths (relative ones are read from the manifest's folder)")
    if not items:
        raise UserError(f"{path}: the manifest has no utterances")
    return items


def manifest(train: str, val: str | None = None, test: str | None = None, val_fraction: float = 0.1,
             test_fraction: float = 0.0, seed: int = 0) -> Corpus:
    """One manifest per split; a split without a manifest is carved from train (seeded)."""
    if train in (None, "", "???"):
        raise UserError("dataset.train is not set: pass dataset.train=/path/to/train.jsonl")
    items = read_manifest(train)
    corpus = Corpus(items, read_manifest(val) if val else [], read_manifest(test) if test else [])
    carve_val = 0.0 if val else val_fraction
    carve_test = 0.0 if test else test_fraction
    if carve_val or carve_test:
        carved = _carve(items, carve_val, carve_test, seed)
        corpus.train = carved.train
        corpus.val = corpus.val or carved.val
        corpus.test = corpus.test or carved.test
    return corpus


# --- LibriSpeech ------------------------------------------------------------------------------
def _audio_file(folder: Path, uid: str, suffixes: tuple[str, ...]) -> Path | None:
    """``folder/<uid><suffix>`` for the first suffix that exists, else None."""
    return next((folder / f"{uid}{s}" for s in suffixes if (folder / f"{uid}{s}").is_file()), None)


def read_librispeech(folder: Path) -> list[Utterance]:
    """``<speaker>/<chapter>/<speaker>-<chapter>-<n>.flac`` with ``<speaker>-<chapter>.trans.txt``
    lines ``<id> <TRANSCRIPT>``. A transcript line without its audio file is an error."""
    items, missing = [], []
    for trans in sorted(folder.rglob("*.trans.txt")):
        for line in trans.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            uid, _, text = line.strip().partition(" ")
            audio = _audio_file(trans.parent, uid, (".flac", ".wav"))
            if audio is None:
                missing.append(f"{trans.parent / uid}.flac")
                continue
            items.append(Utterance(uid, text, audio))
    if missing:
        raise _missing("audio files named in *.trans.txt", str(folder), missing, "restore them or remove their lines")
    if not items:
        raise UserError(f"{folder}: no *.trans.txt transcripts (expected <speaker>/<chapter>/*.flac and *.trans.txt)")
    return items


def librispeech(root: str, train: str = "train-clean-100", val: str | None = "dev-clean",
                test: str | None = "test-clean", val_fraction: float = 0.1, test_fraction: float = 0.1,
                seed: int = 0) -> Corpus:
    """LibriSpeech subsets under ``root`` (names or paths). Absent val/test subsets are carved from train."""
    base = require_dir(root)

    def subset(name: str | None) -> Path | None:
        if not name:
            return None
        p = Path(name) if Path(name).is_absolute() else base / name
        return p if p.is_dir() else None

    train_dir = subset(train) or base  # root itself may be one subset
    val_dir, test_dir = subset(val), subset(test)
    items = read_librispeech(train_dir)
    corpus = Corpus(items, read_librispeech(val_dir) if val_dir else [], read_librispeech(test_dir) if test_dir else [])
    carve_val, carve_test = (0.0 if val_dir else val_fraction), (0.0 if test_dir else test_fraction)
    if carve_val or carve_test:
        carved = _carve(items, carve_val, carve_test, seed)
        corpus.train, corpus.val, corpus.test = carved.train, corpus.val or carved.val, corpus.test or carved.test
    return corpus


# --- LJSpeech ---------------------------------------------------------------------------------
def ljspeech(root: str, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0) -> Corpus:
    """``metadata.csv`` (``id|text|normalized text``, the normalized column used) with ``wavs/<id>.wav``
    (or ``.flac``); a seeded split."""
    base = require_dir(root, hint=" (the LJSpeech-1.1 folder with metadata.csv and wavs/)")
    meta = require_file(base / "metadata.csv", "LJSpeech metadata", hint=" (expected id|text|normalized text)")
    items, missing = [], []
    with meta.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="|", quoting=csv.QUOTE_NONE):
            if not row:
                continue
            uid, text = row[0], (row[2] if len(row) > 2 and row[2].strip() else row[1] if len(row) > 1 else "")
            # the standard release has .wav; re-encoded copies (like ../shared/data's subset) have .flac
            wav = _audio_file(base / "wavs", uid, (".wav", ".flac"))
            if wav is None:
                missing.append(str(base / "wavs" / f"{uid}.wav"))
                continue
            items.append(Utterance(uid, text, wav))
    if missing:
        raise _missing("wavs named in metadata.csv", str(meta), missing, "restore them or remove their lines")
    if not items:
        raise UserError(f"{meta}: no utterances")
    return _carve(items, val_fraction, test_fraction, seed)


# --- Free Spoken Digit Dataset ----------------------------------------------------------------
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_FSDD = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def fsdd(root: str, val_fraction: float = 0.1, seed: int = 0) -> Corpus:
    """``<digit>_<speaker>_<index>.wav``; the transcript is the digit's English word. The standard
    split: indexes 0-4 are the test set; val is carved from the rest (seeded)."""
    base = require_dir(root, hint=" (the FSDD recordings/ folder)")
    rest, test, ignored = [], [], []
    for wav in sorted(base.glob("*.wav")):
        m = _FSDD.match(wav.name)
        if not m:
            ignored.append(wav.name)
            continue
        utt = Utterance(wav.stem, DIGITS[int(m.group(1))], wav)
        (test if int(m.group(3)) <= 4 else rest).append(utt)
    if ignored:
        raise UserError(f"{base}: {len(ignored)} .wav files not named <digit>_<speaker>_<index>.wav "
                        f"({', '.join(ignored[:3])}); move them out of the folder")
    if not rest:
        raise UserError(f"{base}: no <digit>_<speaker>_<index>.wav recordings with index 5 or more to train on")
    carved = _carve(rest, val_fraction, 0.0, seed)
    return Corpus(carved.train, carved.val, test)
