"""Transcripts: normalization (applied identically to references and hypotheses) and the units
a CTC model emits (characters, or sentencepiece BPE pieces). Index 0 is always the CTC blank."""
from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from taskhub import UserError, require_extra

BLANK = "<blank>"

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """English words for a non-negative integer (``1890`` -> ``one thousand eight hundred ninety``)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + number_words(n % 100))
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            return number_words(n // size) + " " + name + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError(n)


@dataclass
class Normalization:
    """How transcripts are normalized. ``punctuation``: remove (keeps apostrophes inside words) |
    keep; ``numbers``: words (digits spelled out, up to 12 digits; longer runs digit by digit) | keep."""

    lowercase: bool = True
    punctuation: str = "remove"
    numbers: str = "words"

    def __post_init__(self) -> None:
        if self.punctuation not in ("remove", "keep"):
            raise UserError(f"normalize.punctuation={self.punctuation}: choose remove or keep")
        if self.numbers not in ("words", "keep"):
            raise UserError(f"normalize.numbers={self.numbers}: choose words or keep")

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        if self.numbers == "words":
            text = re.sub(r"\d+", lambda m: _spell(m.group()), text)
        if self.lowercase:
            text = text.lower()
        if self.punctuation == "remove":
            text = re.sub(r"[^\w\s']|_", " ", text)
            text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)  # quotes, not apostrophes
        return " ".join(text.split())

    def to_dict(self) -> dict:
        return asdict(self)


def _spell(digits: str) -> str:
    if len(digits) > 12:
        return " ".join(_ONES[int(d)] for d in digits)
    return " " + number_words(int(digits)) + " "


class CharTokenizer:
    """Characters as CTC units. The vocabulary is fitted on the training transcripts (sorted, so
    it does not depend on their order) unless given."""

    kind = "char"

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = [BLANK, *symbols]
        self.index = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def fit(cls, texts: Iterable[str]) -> CharTokenizer:
        return cls(sorted({c for t in texts for c in t}))

    def __len__(self) -> int:
        return len(self.symbols)

    def oov(self, text: str) -> set[str]:
        return {c for c in text if c not in self.index}

    def encode(self, text: str) -> list[int]:
        """Unit ids of ``text``; characters outside the vocabulary are left out (callers report them)."""
        return [self.index[c] for c in text if c in self.index]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join("".join(self.symbols[i] for i in ids if i > 0).split())

    def labels(self) -> list[str]:
        """The units as a CTC beam decoder sees them (blank as "")."""
        return ["", *self.symbols[1:]]

    def state_dict(self) -> dict:
        return {"kind": self.kind, "symbols": self.symbols[1:]}


class BpeTokenizer:
    """Sentencepiece BPE pieces as CTC units: fewer, longer outputs per utterance than characters,
    useful for longer transcripts. Trained in memory on the training transcripts."""

    kind = "bpe"

    def __init__(self, model_proto: bytes) -> None:
        spm = require_extra("sentencepiece", "bpe", "task.units=bpe")
        self.proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        # sentencepiece ids: 0 unk, then pieces; shift by one so 0 is the CTC blank
        self.symbols = [BLANK, *(self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size()))]

    @classmethod
    def fit(cls, texts: Iterable[str], vocab_size: int) -> BpeTokenizer:
        import io

        spm = require_extra("sentencepiece", "bpe", "task.units=bpe")
        texts = [t for t in texts if t]
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size,
                                           model_type="bpe", character_coverage=1.0, bos_id=-1, eos_id=-1,
                                           unk_id=0, hard_vocab_limit=False, minloglevel=2)
        except RuntimeError as exc:
            raise UserError(f"task.bpe_vocab_size={vocab_size}: sentencepiece could not train on the "
                            f"training transcripts ({str(exc).splitlines()[-1][:150]}); it must be at least the "
                            f"number of distinct characters + 1 ({len(set(''.join(texts))) + 1} here)") from None
        return cls(model.getvalue())

    def __len__(self) -> int:
        return len(self.symbols)

    def oov(self, text: str) -> set[str]:
        return {c for c in set(text) - {" "} if self.sp.piece_to_id(c) == 0 and not self._covered(c)}

    def _covered(self, c: str) -> bool:
        return 0 not in self.sp.encode(c)

    def encode(self, text: str) -> list[int]:
        return [i + 1 for i in self.sp.encode(text) if i != 0]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join("".join(self.symbols[i] for i in ids if i > 0).replace("\u2581", " ").split())

    def labels(self) -> list[str]:
        return ["", *self.symbols[1:]]

    def state_dict(self) -> dict:
        return {"kind": self.kind, "model": base64.b64encode(self.proto).decode("ascii")}


Tokenizer = CharTokenizer | BpeTokenizer


def tokenizer_from_state(state: dict) -> Tokenizer:
    if state["kind"] == "bpe":
        return BpeTokenizer(base64.b64decode(state["model"]))
    return CharTokenizer(list(state["symbols"]))
