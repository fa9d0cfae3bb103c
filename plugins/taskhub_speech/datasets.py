"""Speech corpora in their standard layouts, each returned as :class:`taskhub.data.Splits` of
:class:`Utterance` lists.

Loaders only parse layouts and transcripts and read each file's header (cheap, no decoding):
the header gives the duration and sample rate that the task's ``auto`` settings are chosen from
(``task.features.sample_rate``, ``dataset.bucket_size``), and a file whose header cannot be read
is a bad input under ``dataset.on_bad``. The task decodes, resamples and featurizes the audio in
one place, so bad files are counted and reported the same way for every loader.

Paths in manifests: relative ones are read from the manifest's folder; absolute ones are kept
as they are (NeMo's convention: a manifest may point anywhere, so only use manifests you trust
to name files you mean to read).
"""
from __future__ import annotations

import csv
import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from taskhub import UserError
from taskhub.data import BadInputs, Splits, carve_splits, require_dir, require_file


@dataclass
class Utterance:
    """One clip and its raw transcript. ``audio`` is a file or an already-decoded mono waveform;
    ``sample_rate`` and ``duration`` (seconds) come from the file's header or the waveform."""

    id: str
    text: str
    audio: Path | torch.Tensor
    sample_rate: int | None = None
    duration: float | None = None


def _policy(on_bad: str, on_bad_audio: str | None) -> str:
    """``on_bad``, or the deprecated ``on_bad_audio`` (0.1's name) with a warning."""
    if on_bad_audio is None:
        return on_bad
    warnings.warn("dataset.on_bad_audio is deprecated: use dataset.on_bad (error | skip); the old name "
                  "will be removed in 0.4", FutureWarning, stacklevel=3)
    return on_bad_audio


def _with_header(utt: Utterance, bad: BadInputs) -> Utterance | None:
    """``utt`` with its sample rate and duration from the audio header; None (reported) when unusable."""
    if isinstance(utt.audio, torch.Tensor):
        rate = int(utt.sample_rate or 16000)
        utt.sample_rate, utt.duration = rate, utt.audio.numel() / rate
        return utt
    import soundfile as sf

    try:
        info = sf.info(str(utt.audio))
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        reason = " ".join(str(exc).split()).rsplit(": ", 1)[-1].rstrip(".")[:80]  # libsndfile's reason
        bad.report(str(utt.audio), f"unreadable audio ({reason})")
        return None
    if info.frames <= 0:
        bad.report(str(utt.audio), "empty audio (0 samples)")
        return None
    utt.sample_rate, utt.duration = int(info.samplerate), info.frames / info.samplerate
    return utt


def corpus_splits(train: list[Utterance], val: list[Utterance] | None, test: list[Utterance] | None, *,
                  normalize: dict[str, Any] | None, max_duration: float | None, bucket_size: int | str,
                  on_bad: str, what: str) -> Splits:
    """The one ending of every loader: read the headers, apply ``on_bad``, and describe the data.

    ``info`` holds what the task needs: the training clips' ``durations`` and ``sample_rates``
    (for ``auto`` settings), and the dataset's ``normalize``, ``max_duration``, ``bucket_size``
    and ``on_bad`` settings (the task applies them while featurizing)."""
    bad = BadInputs(on_bad)
    parts = {}
    for name, items in (("train", train), ("val", val), ("test", test)):
        kept = [u for u in (_with_header(u, bad) for u in items or []) if u is not None]
        parts[name] = kept if items else None
    bad.warn("audio files")
    if not parts["train"]:
        raise UserError(f"dataset {what}: no usable training utterances")
    durations = [float(u.duration or 0.0) for u in parts["train"]]
    rates = Counter(int(u.sample_rate or 0) for u in parts["train"])
    info = {"durations": durations, "sample_rates": dict(rates), "normalize": dict(normalize or {}),
            "max_duration": max_duration, "bucket_size": bucket_size, "on_bad": on_bad, "name": what}
    return Splits(train=parts["train"], val=parts["val"] or None, test=parts["test"] or None, info=info,
                  skipped=bad.skipped)


def _carve(items: list[Utterance], val_fraction: float, test_fraction: float, seed: int, *,
           has_val: bool = False, has_test: bool = False) -> tuple[list[Utterance], list[Utterance], list[Utterance]]:
    """(train, val, test) with the splits the corpus does not ship carved from ``items``."""
    tr, va, te = carve_splits(len(items), has_val=has_val, has_test=has_test, val_fraction=val_fraction,
                              test_fraction=test_fraction, seed=seed)
    pick = lambda idx: [] if idx is None else [items[i] for i in idx.tolist()]  # noqa: E731
    return pick(tr), pick(va), pick(te)


def _missing(kind: str, source: str, missing: list[str], hint: str) -> UserError:
    shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
    return UserError(f"{source}: {len(missing)} {kind} not found ({shown}); {hint}")


# The settings every speech dataset takes (documented in each dataset YAML).
Normalize = dict[str, Any] | None
Bucket = int | str


# --- built-in default -------------------------------------------------------------------------
def dtmf(sample_rate: int = 16000, num_samples: int = 3000, val_fraction: float = 0.1, test_fraction: float = 0.1,
         min_keys: int = 2, max_keys: int = 7, snr_db: tuple[float, float] = (5.0, 25.0), seed: int = 0,
         normalize: Normalize = None, max_duration: float | None = None, bucket_size: Bucket = "auto",
         on_bad: str = "error", on_bad_audio: str | None = None) -> Splits:
    """Generated keypad-tone sequences at ``sample_rate`` (see :mod:`taskhub_speech.dtmf`); no download."""
    from taskhub_speech.dtmf import generate

    clips = generate(num_samples, sample_rate, seed, min_keys, max_keys, tuple(snr_db))
    items = [Utterance(f"dtmf-{i:05d}", text, wave, sample_rate) for i, (wave, text) in enumerate(clips)]
    train, val, test = _carve(items, val_fraction, test_fraction, seed)
    return corpus_splits(train, val, test, normalize=normalize, max_duration=max_duration, bucket_size=bucket_size,
                         on_bad=_policy(on_bad, on_bad_audio), what="dtmf")


# --- NeMo-style manifests ---------------------------------------------------------------------
def read_manifest(path: str | Path) -> list[Utterance]:
    """JSON lines with ``audio_filepath`` and ``text``; ``duration`` is optional (the header is read
    anyway). A relative ``audio_filepath`` is read from the manifest's folder, an absolute one is
    kept as it is (NeMo's convention). Missing files are one error with a count."""
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
        file = Path(str(audio)).expanduser()
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
             test_fraction: float = 0.0, seed: int = 0, normalize: Normalize = None,
             max_duration: float | None = 20.0, bucket_size: Bucket = "auto", on_bad: str = "error",
             on_bad_audio: str | None = None) -> Splits:
    """One manifest per split; a split without a manifest is carved from train (seeded)."""
    if train in (None, "", "???"):
        raise UserError("dataset.train is not set: pass dataset.train=/path/to/train.jsonl")
    tr, va, te = _carve(read_manifest(train), val_fraction, test_fraction, seed, has_val=bool(val), has_test=bool(test))
    return corpus_splits(tr, read_manifest(val) if val else va, read_manifest(test) if test else te,
                         normalize=normalize, max_duration=max_duration, bucket_size=bucket_size,
                         on_bad=_policy(on_bad, on_bad_audio), what="manifest")


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
                seed: int = 0, normalize: Normalize = None, max_duration: float | None = 20.0,
                bucket_size: Bucket = "auto", on_bad: str = "error", on_bad_audio: str | None = None) -> Splits:
    """LibriSpeech subsets under ``root`` (names or paths). Absent val/test subsets are carved from train."""
    base = require_dir(root)

    def subset(name: str | None) -> Path | None:
        if not name:
            return None
        p = Path(name) if Path(name).is_absolute() else base / name
        return p if p.is_dir() else None

    train_dir = subset(train) or base  # root itself may be one subset
    val_dir, test_dir = subset(val), subset(test)
    tr, va, te = _carve(read_librispeech(train_dir), val_fraction, test_fraction, seed,
                        has_val=val_dir is not None, has_test=test_dir is not None)
    return corpus_splits(tr, read_librispeech(val_dir) if val_dir else va,
                         read_librispeech(test_dir) if test_dir else te, normalize=normalize,
                         max_duration=max_duration, bucket_size=bucket_size, on_bad=_policy(on_bad, on_bad_audio),
                         what="librispeech")


# --- LJSpeech ---------------------------------------------------------------------------------
def ljspeech(root: str, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0,
             normalize: Normalize = None, max_duration: float | None = 12.0, bucket_size: Bucket = "auto",
             on_bad: str = "error", on_bad_audio: str | None = None) -> Splits:
    """``metadata.csv`` (``id|text|normalized text``, the normalized column used) with ``wavs/<id>.wav``
    (or ``.flac``) in ``root`` (or ``root/LJSpeech-1.1``); a seeded split."""
    base = require_dir(root, hint=" (the LJSpeech-1.1 folder with metadata.csv and wavs/)")
    if not (base / "metadata.csv").is_file() and (base / "LJSpeech-1.1" / "metadata.csv").is_file():
        base = base / "LJSpeech-1.1"  # root is the folder the archive was unpacked into
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
    tr, va, te = _carve(items, val_fraction, test_fraction, seed)
    return corpus_splits(tr, va, te, normalize=normalize, max_duration=max_duration, bucket_size=bucket_size,
                         on_bad=_policy(on_bad, on_bad_audio), what="ljspeech")


# --- Free Spoken Digit Dataset ----------------------------------------------------------------
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_FSDD = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def fsdd(root: str, val_fraction: float = 0.1, seed: int = 0, normalize: Normalize = None,
         max_duration: float | None = None, bucket_size: Bucket = "auto", on_bad: str = "error",
         on_bad_audio: str | None = None) -> Splits:
    """``<digit>_<speaker>_<index>.wav`` in ``root`` (or ``root/recordings``); the transcript is the digit's English word. The standard
    split: indexes 0-4 are the test set; val is carved from the rest (seeded)."""
    base = require_dir(root, hint=" (the FSDD recordings/ folder)")
    if not any(base.glob("*.wav")) and (base / "recordings").is_dir():
        base = base / "recordings"  # root is the repository's folder
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
    tr, va, _ = _carve(rest, val_fraction, 0.0, seed, has_test=True)
    return corpus_splits(tr, va, test, normalize=normalize, max_duration=max_duration, bucket_size=bucket_size,
                         on_bad=_policy(on_bad, on_bad_audio), what="fsdd")
