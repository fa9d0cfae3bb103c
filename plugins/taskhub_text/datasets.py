"""Text datasets in their usual layouts, all returned as :class:`TextData` (raw texts and label
names per split; the task tokenizes). Splits are the dataset's own where it has them, else seeded."""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from taskhub import UserError
from taskhub.data import require_dir, seeded_split
from taskhub_text.readers import Examples, check_text, read_csv, read_jsonl, read_labelled_lines, read_text


@dataclass
class TextData:
    train: Examples | None
    val: Examples | None
    test: Examples | None


def _carve(train: Examples, val: Examples | None, test: Examples | None, val_fraction: float,
           test_fraction: float, seed: int) -> TextData:
    """Carve the missing val/test splits out of ``train`` with a seeded shuffle."""
    tr, va, te = seeded_split(len(train), 0.0 if val is not None else val_fraction,
                              0.0 if test is not None else test_fraction, seed)
    return TextData(train.subset(tr.tolist()),
                    val if val is not None else train.subset(va.tolist()),
                    test if test is not None else (train.subset(te.tolist()) if len(te) else None))


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


def reviews(num_samples: int = 4000, val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0) -> TextData:
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
    return _carve(out, None, None, val_fraction, test_fraction, seed)


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
        encoding: str = "utf-8", empty: str = "error", val_fraction: float = 0.1, test_fraction: float = 0.1,
        seed: int = 0) -> TextData:
    """CSV or TSV files per split (val/test carved from train when not given)."""
    def read(setting: str, value: str | None, required: bool = False) -> Examples | None:
        path = _files(setting, value, required)
        return None if path is None else read_csv(path, text_columns, label_column, header, delimiter, encoding, empty)

    return _carve(read("train", train, True), read("val", val), read("test", test), val_fraction, test_fraction, seed)


def jsonl(train: str, val: str | None = None, test: str | None = None, text_columns: str | Sequence = "text",
          label_column: str = "label", encoding: str = "utf-8", empty: str = "error", val_fraction: float = 0.1,
          test_fraction: float = 0.1, seed: int = 0) -> TextData:
    """JSON-lines files per split (val/test carved from train when not given)."""
    def read(setting: str, value: str | None, required: bool = False) -> Examples | None:
        path = _files(setting, value, required)
        return None if path is None else read_jsonl(path, text_columns, label_column, encoding, empty)

    return _carve(read("train", train, True), read("val", val), read("test", test), val_fraction, test_fraction, seed)


def _read_folder(folder: Path, encoding: str, empty: str, suffixes: Sequence[str]) -> Examples:
    out = Examples()
    classes = sorted(d for d in folder.iterdir() if d.is_dir())
    for class_dir in classes:
        for f in sorted(p for p in class_dir.iterdir() if p.is_file() and p.suffix.lower() in suffixes):
            text = read_text(f, encoding).strip()
            if check_text(text, f"{f}:1", empty):
                out.add(text, class_dir.name, str(f))
    return out


def textfolder(root: str, encoding: str = "utf-8", empty: str = "error", suffixes: Sequence[str] = (".txt",),
               val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0) -> TextData:
    """``root/{train,val,test}/<class>/*.txt``, one example per file (aclImdb's and Keras'
    text_dataset_from_directory layout); val and test are carved from train when absent.
    Folders other than class folders (aclImdb's ``unsup``) are ignored only if they hold no .txt."""
    base = require_dir(root, hint=" (holding train/<class>/*.txt)")
    suffixes = tuple(s.lower() for s in suffixes)
    if not (base / "train").is_dir():
        raise UserError(f"dataset.root={root}: no train/ folder; expected root/train/<class>/*.txt")
    train = _read_folder(base / "train", encoding, empty, suffixes)
    if not len(train):
        raise UserError(f"{base / 'train'}: no class folders with {'/'.join(suffixes)} files")
    own = {s: _read_folder(base / s, encoding, empty, suffixes) for s in ("val", "test") if (base / s).is_dir()}
    return _carve(train, own.get("val"), own.get("test"), val_fraction, test_fraction, seed)


# --- standard corpora ---------------------------------------------------------------------------------
SST2_LABELS = {"0": "negative", "1": "positive"}


def sst2(root: str, encoding: str = "utf-8", seed: int = 0) -> TextData:
    """SST-2 in Kim (2014)'s files: ``stsa.binary.{train,dev,test}``, ``label sentence`` per line
    (0 negative, 1 positive); the standard train/dev/test split."""
    base = require_dir(root, hint=" (holding stsa.binary.train, .dev and .test)")
    parts = {}
    for split, name in (("train", "train"), ("val", "dev"), ("test", "test")):
        path = base / f"stsa.binary.{name}"
        if not path.is_file():
            raise UserError(f"dataset.root={root}: {path.name} not found (SST-2 needs stsa.binary.train, .dev, .test)")
        parts[split] = read_labelled_lines(path, None, encoding, label_names=SST2_LABELS)
    return TextData(parts["train"], parts["val"], parts["test"])


def sms_spam(root: str, encoding: str = "utf-8", val_fraction: float = 0.1, test_fraction: float = 0.2,
             seed: int = 0) -> TextData:
    """The SMS Spam Collection (``SMSSpamCollection``: ``ham|spam<TAB>text``); no standard split,
    so a seeded one. ``root`` may be the file or its folder."""
    path = Path(str(root)).expanduser()
    if path.is_dir():
        path = path / "SMSSpamCollection"
    if not path.is_file():
        raise UserError(f"dataset.root={root}: SMSSpamCollection not found")
    examples = read_labelled_lines(path, "\t", encoding, label_names={"ham": "ham", "spam": "spam"})
    return _carve(examples, None, None, val_fraction, test_fraction, seed)


def hf(name: str, config: str | None = None, text_columns: str | Sequence[str] = "text", label_column: str = "label",
       train_split: str = "train", val_split: str | None = "validation", test_split: str | None = "test",
       val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0) -> TextData:
    """A Hugging Face dataset by name (needs the ``datasets`` package and internet, or its cache).
    Integer labels are named by the dataset's ClassLabel names when it has them."""
    try:
        import datasets as hf_datasets
    except ImportError:
        raise UserError("dataset=hf needs the 'datasets' package: pip install datasets") from None
    try:
        ds = hf_datasets.load_dataset(name, config)
    except Exception as exc:
        raise UserError(f"dataset.name={name}: cannot load it ({type(exc).__name__}: {exc})") from None
    fields = [text_columns] if isinstance(text_columns, str) else list(text_columns)

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
            out.add(" ".join(str(row[f]) for f in fields), str(label), f"{name}[{split}][{i}]")
        return out

    train = convert(train_split)
    if train is None:
        raise UserError(f"dataset {name}: no split '{train_split}'; it has: {', '.join(ds)}")
    return _carve(train, convert(val_split), convert(test_split), val_fraction, test_fraction, seed)
