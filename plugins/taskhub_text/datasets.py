"""Text datasets in their usual layouts, all returned as :class:`taskhub.data.Splits` of
:class:`Examples` (raw texts and label names per split; the task tokenizes). Splits are the
dataset's own where it has them, else carved from train with :func:`taskhub.data.carve_splits`.

Every file loader takes ``on_bad: error | skip``: an empty text or an empty label stops the run at
its ``file:line`` (``error``), or is left out and counted in one warning (``skip``). ``empty`` is
0.1's name of the setting (still accepted, with a warning).
"""
from __future__ import annotations

import random
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taskhub import UserError, require_extra
from taskhub.data import BadInputs, Splits, carve_splits, require_dir
from taskhub_text.readers import Examples, check_row, read_csv, read_jsonl, read_labelled_lines, read_text


def _policy(on_bad: str, empty: str | None) -> BadInputs:
    """The bad-row policy of ``on_bad``, or of the deprecated ``empty`` (0.1's name) with a warning."""
    if empty is not None:
        warnings.warn("dataset.empty is deprecated: use dataset.on_bad (error | skip); the old name will be "
                      "removed in 0.4", FutureWarning, stacklevel=3)
        on_bad = empty
    return BadInputs(on_bad)


def text_splits(train: Examples, val: Examples | None, test: Examples | None, val_fraction: float,
                test_fraction: float, seed: int, bad: BadInputs | None = None, what: str = "text") -> Splits:
    """The one ending of every loader: carve the missing val/test splits out of ``train`` (seeded),
    warn once about skipped rows, and describe the training split in ``info`` (labels, sizes)."""
    if not len(train):
        raise UserError(f"dataset {what}: the training split has no examples")
    tr, va, te = carve_splits(len(train), has_val=val is not None, has_test=test is not None,
                              val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    train_part = train.subset(tr.tolist())
    val = val if val is not None else train.subset(va.tolist())
    test = test if test is not None else (train.subset(te.tolist()) if len(te) else None)
    if bad is not None:
        bad.warn("rows")
    counts = Counter(train_part.labels)
    info: dict[str, Any] = {"labels": sorted(counts), "label_counts": dict(counts), "num_train": len(train_part),
                            "words": [len(t.split()) for t in train_part.texts], "name": what}
    return Splits(train=train_part, val=val if len(val) else None, test=test if test is not None and len(test) else None,
                  info=info, skipped=dict(bad.skipped) if bad is not None else {})


# --- built-in default: reviews with negation and contrast -------------------------------------
_NOUNS = ["food", "service", "staff", "room", "movie", "plot", "acting", "music", "price", "screen", "battery",
          "delivery", "story", "camera", "design", "sound", "ending", "menu", "view", "support"]
_POSITIVE = ["good", "great", "excellent", "wonderful", "superb", "pleasant", "amazing", "lovely", "solid", "fantastic"]
_NEGATIVE = ["bad", "awful", "terrible", "poor", "dreadful", "boring", "horrible", "weak", "disappointing", "mediocre"]
_INTENSIFIERS = ["", "", "really ", "very ", "quite ", "truly ", "rather "]
_OPENERS = ["", "", "honestly ", "overall ", "i think ", "to be fair ", "in my opinion "]
_VERBS = ["was", "is", "seemed", "felt"]
_NEGATIONS = ["not", "never", "hardly"]


def _clause(rng: random.Random) -> tuple[str, bool]:
    """'the food was not very good' and its polarity (negation flips the adjective's)."""
    positive = rng.random() < 0.5
    adj = rng.choice(_POSITIVE if positive else _NEGATIVE)
    negated = rng.random() < 0.35
    words = f"the {rng.choice(_NOUNS)} {rng.choice(_VERBS)} {rng.choice(_NEGATIONS) + ' ' if negated else ''}" \
            f"{rng.choice(_INTENSIFIERS)}{adj}"
    return words, positive != negated


def reviews(num_samples: int = 4000, val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0) -> Splits:
    """Short generated reviews, positive or negative: no download, learnable, and no single word
    decides the label. Negation flips a clause ('not good'), and in 'A but B' only B counts, so
    every sentiment word occurs in both classes and a model must read order, not keywords."""
    rng = random.Random(seed)
    out = Examples()
    for i in range(num_samples):
        first, polarity = _clause(rng)
        if rng.random() < 0.4:
            second, polarity = _clause(rng)
            first = f"{first} but {second}"
        text = f"{rng.choice(_OPENERS)}{first}"
        out.add(text, "positive" if polarity else "negative", f"reviews[{i}]")
    return text_splits(out, None, None, val_fraction, test_fraction, seed, what="reviews")


# --- your own files ---------------------------------------------------------------------------------
def _files(setting: str, value: str | None, required: bool) -> Path | None:
    if value in (None, ""):
        if required:
            raise UserError(f"dataset.{setting} is not set: pass dataset.{setting}=/path/to/file")
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise UserError(f"dataset.{setting}={value}: file not found")
    return path


def csv(train: str, val: str | None = None, test: str | None = None, text_columns: str | int | Sequence = "text",
        label_column: str | int = "label", header: bool = True, delimiter: str | None = None,
        encoding: str = "utf-8", on_bad: str = "error", val_fraction: float = 0.1, test_fraction: float = 0.1,
        seed: int = 0, empty: str | None = None) -> Splits:
    """CSV or TSV files per split (val/test carved from train when not given)."""
    bad = _policy(on_bad, empty)

    def read(setting: str, value: str | None, required: bool = False) -> Examples | None:
        path = _files(setting, value, required)
        return None if path is None else read_csv(path, text_columns, label_column, header, delimiter, encoding, bad)

    return text_splits(read("train", train, True), read("val", val), read("test", test), val_fraction, test_fraction,
                       seed, bad, "csv")


def jsonl(train: str, val: str | None = None, test: str | None = None, text_columns: str | Sequence = "text",
          label_column: str = "label", encoding: str = "utf-8", on_bad: str = "error", val_fraction: float = 0.1,
          test_fraction: float = 0.1, seed: int = 0, empty: str | None = None) -> Splits:
    """JSON-lines files per split (val/test carved from train when not given)."""
    bad = _policy(on_bad, empty)

    def read(setting: str, value: str | None, required: bool = False) -> Examples | None:
        path = _files(setting, value, required)
        return None if path is None else read_jsonl(path, text_columns, label_column, encoding, bad)

    return text_splits(read("train", train, True), read("val", val), read("test", test), val_fraction, test_fraction,
                       seed, bad, "jsonl")


def _read_folder(folder: Path, encoding: str, bad: BadInputs, suffixes: Sequence[str]) -> Examples:
    out = Examples()
    classes = sorted(d for d in folder.iterdir() if d.is_dir())
    for class_dir in classes:
        for f in sorted(p for p in class_dir.iterdir() if p.is_file() and p.suffix.lower() in suffixes):
            text = read_text(f, encoding).strip()
            if check_row(text, class_dir.name, f"{f}:1", bad):
                out.add(text, class_dir.name, str(f))
    return out


def textfolder(root: str, encoding: str = "utf-8", on_bad: str = "error", suffixes: Sequence[str] = (".txt",),
               val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0, empty: str | None = None) -> Splits:
    """``root/{train,val,test}/<class>/*.txt``, one example per file (aclImdb's and Keras'
    text_dataset_from_directory layout); val and test are carved from train when absent.
    Folders other than class folders (aclImdb's ``unsup``) are ignored only if they hold no .txt."""
    base = require_dir(root, hint=" (holding train/<class>/*.txt)")
    suffixes = tuple(s.lower() for s in suffixes)
    if not (base / "train").is_dir():
        raise UserError(f"dataset.root={root}: no train/ folder; expected root/train/<class>/*.txt")
    bad = _policy(on_bad, empty)
    train = _read_folder(base / "train", encoding, bad, suffixes)
    if not len(train):
        raise UserError(f"{base / 'train'}: no class folders with {'/'.join(suffixes)} files")
    own = {s: _read_folder(base / s, encoding, bad, suffixes) for s in ("val", "test") if (base / s).is_dir()}
    return text_splits(train, own.get("val"), own.get("test"), val_fraction, test_fraction, seed, bad, "textfolder")


# --- standard corpora ---------------------------------------------------------------------------------
SST2_LABELS = {"0": "negative", "1": "positive"}


def sst2(root: str, encoding: str = "utf-8", seed: int = 0, on_bad: str = "error") -> Splits:
    """SST-2 in Kim (2014)'s files: ``stsa.binary.{train,dev,test}``, ``label sentence`` per line
    (0 negative, 1 positive); the standard train/dev/test split."""
    base = require_dir(root, hint=" (holding stsa.binary.train, .dev and .test)")
    bad = BadInputs(on_bad)
    parts = {}
    for split, name in (("train", "train"), ("val", "dev"), ("test", "test")):
        path = base / f"stsa.binary.{name}"
        if not path.is_file():
            raise UserError(f"dataset.root={root}: {path.name} not found (SST-2 needs stsa.binary.train, .dev, .test)")
        parts[split] = read_labelled_lines(path, None, encoding, bad, label_names=SST2_LABELS)
    return text_splits(parts["train"], parts["val"], parts["test"], 0.0, 0.0, seed, bad, "sst2")


def sms_spam(root: str, encoding: str = "utf-8", val_fraction: float = 0.1, test_fraction: float = 0.2,
             seed: int = 0, on_bad: str = "error") -> Splits:
    """The SMS Spam Collection (``SMSSpamCollection``: ``ham|spam<TAB>text``); no standard split,
    so a seeded one. ``root`` may be the file or its folder."""
    path = Path(str(root)).expanduser()
    if path.is_dir():
        path = path / "SMSSpamCollection"
    if not path.is_file():
        raise UserError(f"dataset.root={root}: SMSSpamCollection not found")
    bad = BadInputs(on_bad)
    examples = read_labelled_lines(path, "\t", encoding, bad, label_names={"ham": "ham", "spam": "spam"})
    return text_splits(examples, None, None, val_fraction, test_fraction, seed, bad, "sms_spam")


def _load_hf(name: str, config: str | None) -> Any:
    """A ``datasets.DatasetDict``: a folder saved with ``save_to_disk`` (read in place), else a
    hub name (downloads, or its cache; offline it is one line saying to pass a local folder)."""
    hf_datasets = require_extra("datasets", "hf", "dataset=hf")
    local = Path(str(name)).expanduser()
    if local.is_dir():
        try:
            ds = hf_datasets.load_from_disk(str(local))
        except Exception as exc:
            raise UserError(f"dataset.name={name}: not a dataset saved with datasets' save_to_disk "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0][:150] if str(exc) else ''})") from None
        return ds if isinstance(ds, hf_datasets.DatasetDict) else hf_datasets.DatasetDict({"train": ds})
    try:
        return hf_datasets.load_dataset(str(name), config)
    except Exception as exc:
        first = str(exc).splitlines()[0][:150] if str(exc) else ""
        raise UserError(f"dataset.name={name}: cannot load it ({type(exc).__name__}: {first}); without internet, "
                        f"pass a local folder saved with datasets' save_to_disk (dataset.name=/path/to/folder)") from None


def hf(name: str, config: str | None = None, text_columns: str | Sequence[str] = "text", label_column: str = "label",
       train_split: str = "train", val_split: str | None = "validation", test_split: str | None = "test",
       val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0, on_bad: str = "error") -> Splits:
    """A Hugging Face dataset: a hub name (needs the ``datasets`` package and internet, or its cache)
    with its ``config`` (e.g. glue / sst2), or a local folder saved with ``save_to_disk``. Integer
    labels are named by the dataset's ClassLabel names when it has them; unlabelled rows (-1, as
    GLUE's test splits have) are left out."""
    ds = _load_hf(name, config)
    fields = [text_columns] if isinstance(text_columns, str) else list(text_columns)
    bad = BadInputs(on_bad)

    def convert(split: str | None) -> Examples | None:
        if not split or split not in ds:
            return None
        part = ds[split]
        missing = [c for c in [*fields, label_column] if c not in part.column_names]
        if missing:
            raise UserError(f"dataset {name}[{split}]: no column {missing[0]}; the columns are: {', '.join(part.column_names)}")
        feature = part.features.get(label_column)
        names = getattr(feature, "names", None)
        out = Examples()
        for i, row in enumerate(part):
            label = row[label_column]
            if names is not None and isinstance(label, int):
                if label < 0:
                    continue  # unlabelled rows (GLUE test splits use -1)
                label = names[label]
            text, label = " ".join(str(row[f]) for f in fields), "" if label is None else str(label)
            if check_row(text, label, f"{name}[{split}][{i}]", bad):
                out.add(text, label, f"{name}[{split}][{i}]")
        return out if len(out) else None

    train = convert(train_split)
    if train is None:
        raise UserError(f"dataset {name}: no split '{train_split}' with labelled rows; it has: {', '.join(ds)}")
    return text_splits(train, convert(val_split), convert(test_split), val_fraction, test_fraction, seed, bad, "hf")
