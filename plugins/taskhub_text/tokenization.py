"""Tokenizers: trained on the training split (word-level, WordPiece or BPE) or loaded pretrained.

Every tokenizer is held as a Hugging Face ``tokenizers.Tokenizer`` so it serialises to one JSON
string: the checkpoint carries it (``torch.load(weights_only=True)`` accepts strings) and the run
directory gets ``tokenizer.json``, so eval and predict use exactly the training vocabulary.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from taskhub import UserError, require_extra

PAD, UNK, CLS, SEP = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
KINDS = ("word", "wordpiece", "bpe")


class TextTokenizer:
    """Text to id lists. Every text gets at least one id (``[UNK]`` for a text with no token),
    so no sequence has length 0 (packed recurrences reject those)."""

    def __init__(self, tokenizer, max_length: int | None = None) -> None:
        self.tok = tokenizer
        self.max_length = max_length
        if max_length:
            tokenizer.enable_truncation(int(max_length))
        else:
            tokenizer.no_truncation()
        tokenizer.no_padding()  # padding is per batch, in the collate function
        self.pad_id = self._special_id((PAD, "<pad>", "[pad]", "<|endoftext|>"), default=0)
        self.unk_id = self._special_id((UNK, "<unk>", "[unk]"), default=self.pad_id)

    def set_max_length(self, max_length: int | None) -> None:
        """Truncate encodings to ``max_length`` tokens from now on (None: never)."""
        self.max_length = max_length
        if max_length:
            self.tok.enable_truncation(int(max_length))
        else:
            self.tok.no_truncation()

    def _special_id(self, names: Sequence[str], default: int) -> int:
        for name in names:
            i = self.tok.token_to_id(name)
            if i is not None:
                return int(i)
        return default

    @property
    def vocab_size(self) -> int:
        return int(self.tok.get_vocab_size(with_added_tokens=True))

    def vocab(self) -> list[str]:
        """Tokens by id (for aligning pretrained word vectors)."""
        pairs = self.tok.get_vocab(with_added_tokens=True)
        out = [""] * self.vocab_size
        for token, i in pairs.items():
            if i < len(out):
                out[i] = token
        return out

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        encodings = self.tok.encode_batch(list(texts))
        return [e.ids if e.ids else [self.unk_id] for e in encodings]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids))

    def to_json(self) -> str:
        return self.tok.to_str()

    @classmethod
    def from_json(cls, text: str, max_length: int | None = None) -> TextTokenizer:
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_str(text), max_length)

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")


def train_tokenizer(texts: Iterable[str], kind: str = "word", vocab_size: int = 20000, min_frequency: int = 1,
                    lowercase: bool = True, max_length: int | None = 256) -> TextTokenizer:
    """A new tokenizer fitted on ``texts`` (the training split only, so nothing leaks from val/test)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if kind not in KINDS:
        from taskhub import unknown_choice

        raise unknown_choice("tokenizer kind", kind, KINDS, "(task.tokenizer.kind)")
    specials = [PAD, UNK] if kind == "word" else [PAD, UNK, CLS, SEP]
    common = dict(vocab_size=int(vocab_size), min_frequency=int(min_frequency), special_tokens=specials,
                  show_progress=False)
    if kind == "word":
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        trainer = trainers.WordLevelTrainer(**common)
    elif kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=UNK))
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(**common)
    else:
        tok = Tokenizer(models.BPE(unk_token=UNK))
        trainer = trainers.BpeTrainer(**common)
    norms = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tok.normalizer = normalizers.Sequence(norms)
    tok.pre_tokenizer = pre_tokenizers.Whitespace()  # words and punctuation apart
    tok.train_from_iterator(list(texts), trainer=trainer)
    return TextTokenizer(tok, max_length)


def pretrained_tokenizer(name_or_path: str, max_length: int | None = 256,
                         setting: str = "task.tokenizer.pretrained") -> TextTokenizer:
    """A pretrained tokenizer: a ``tokenizer.json`` file, a folder holding one (or a transformers
    tokenizer), or a Hugging Face hub name (that one downloads)."""
    from tokenizers import Tokenizer

    path = Path(str(name_or_path)).expanduser()
    if path.is_file():
        return TextTokenizer(Tokenizer.from_file(str(path)), max_length)
    if (path / "tokenizer.json").is_file():
        return TextTokenizer(Tokenizer.from_file(str(path / "tokenizer.json")), max_length)
    # Not a tokenizer.json: a hub name or a transformers folder, which only transformers reads.
    transformers = require_extra("transformers", "hf", f"{setting}={name_or_path} (no tokenizer.json there)")
    try:
        fast = transformers.AutoTokenizer.from_pretrained(str(name_or_path), use_fast=True)
    except Exception as exc:  # offline, unknown name, no fast tokenizer
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise UserError(f"{setting}={name_or_path}: cannot load its tokenizer ({type(exc).__name__}: {first}); "
                        f"without internet, pass a local folder (the model's files, with tokenizer.json) or a "
                        f"tokenizer.json file") from None
    backend = getattr(fast, "backend_tokenizer", None)
    if backend is None:
        raise UserError(f"{setting}={name_or_path}: no fast (tokenizers) version of this tokenizer")
    return TextTokenizer(Tokenizer.from_str(backend.to_str()), max_length)
