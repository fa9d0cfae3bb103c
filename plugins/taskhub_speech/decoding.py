"""CTC decoding: greedy (best path) and beam search with an optional n-gram language model.

Beam search is torchaudio's own ``torchaudio.models.decoder.ctc_decoder`` (flashlight-text's
decoder, in the ``speech-beam`` extra), imported only when ``task.decoder.type=beam``. Without a
language model it is lexicon-free over the model's units; with ``lm_path`` (an ARPA file or a
KenLM binary) it decodes words from a lexicon built from ``words`` (or the ARPA file's unigrams)
spelled in the model's characters.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from taskhub import UserError, require_extra

BLANK, SIL, UNK = "<blank>", "|", "<unk>"


def greedy_ids(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """Best path per utterance: argmax per frame, merge repeats, drop blanks (id 0)."""
    best = log_probs.argmax(-1).cpu()
    out = []
    for seq, n in zip(best.tolist(), lengths.tolist()):
        ids, prev = [], -1
        for i in seq[:n]:
            if i != prev and i != 0:
                ids.append(i)
            prev = i
        out.append(ids)
    return out


@dataclass
class DecoderConfig:
    type: str = "greedy"            # greedy | beam
    beam_width: int = 16
    lm_path: str | None = None      # ARPA or KenLM binary n-gram model (beam only)
    lm_weight: float = 0.5          # alpha
    word_score: float = 1.0         # beta
    words: list[str] | None = None  # the lexicon's words (default: the ARPA file's unigrams)


def decoder_tokens(symbols: list[str]) -> tuple[list[str], bool]:
    """The decoder's token list for the model's units (index 0 the blank) and whether a silence
    token had to be added after them (when no unit is a space: its emission column is -inf)."""
    tokens = [BLANK] + [SIL if s == " " else ("<pipe>" if s == SIL else s) for s in symbols[1:]]
    if SIL in tokens:
        return tokens, False
    return tokens + [SIL], True


def arpa_unigrams(path: Path) -> list[str]:
    """The words of an ARPA file's ``\\1-grams:`` section (without ``<s>``, ``</s>``, ``<unk>``)."""
    words, inside = [], False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("\\"):
                inside = line == "\\1-grams:"
                continue
            if inside and line:
                parts = line.split()
                if len(parts) >= 2 and parts[1] not in ("<s>", "</s>", UNK):
                    words.append(parts[1])
    return words


class Decoder:
    """Turns (B, T, V) log-probabilities into strings with the tokenizer's units."""

    def __init__(self, cfg: DecoderConfig, tokenizer) -> None:
        if cfg.type not in ("greedy", "beam"):
            raise UserError(f"task.decoder.type={cfg.type}: choose greedy or beam")
        if cfg.lm_path and cfg.type != "beam":
            raise UserError("task.decoder.lm_path needs task.decoder.type=beam")
        self.cfg, self.tokenizer = cfg, tokenizer
        self._beam = None
        self._padded = False

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        if self.cfg.type == "greedy":
            return [self.tokenizer.decode(ids) for ids in greedy_ids(log_probs, lengths)]
        beam = self._beam_decoder()
        emissions = log_probs.detach().float().cpu().contiguous()
        if self._padded:  # the added silence token is never emitted
            emissions = torch.cat([emissions, torch.full((*emissions.shape[:2], 1), -1e4)], dim=-1)
        results = beam(emissions, lengths.detach().cpu().to(torch.int32))
        vocab = len(self.tokenizer)
        out = []
        for hyps in results:
            if not hyps:
                out.append("")
                continue
            best = hyps[0]
            if self.cfg.lm_path:
                out.append(" ".join(w for w in best.words if w != UNK))
            else:
                out.append(self.tokenizer.decode([i for i in best.tokens.tolist() if 0 < i < vocab]))
        return out

    def _beam_decoder(self):
        if self._beam is not None:
            return self._beam
        # ctc_decoder imports flashlight-text lazily: fail here, in one line
        require_extra("flashlight.lib.text", "speech-beam", "task.decoder.type=beam", package="flashlight-text",
                      instead="task.decoder.type=greedy")
        from torchaudio.models.decoder import ctc_decoder

        tokens, self._padded = decoder_tokens(list(self.tokenizer.symbols))
        lexicon = None
        lm = self.cfg.lm_path
        if lm:
            path = Path(str(lm)).expanduser()
            if not path.is_file():
                raise UserError(f"task.decoder.lm_path={lm}: no such file")
            lexicon = self._lexicon(path, tokens)
        self._beam = ctc_decoder(lexicon=lexicon, tokens=tokens, lm=str(lm) if lm else None,
                                 beam_size=int(self.cfg.beam_width), lm_weight=float(self.cfg.lm_weight),
                                 word_score=float(self.cfg.word_score), blank_token=BLANK, sil_token=SIL,
                                 unk_word=UNK, log_add=True)
        return self._beam

    def _lexicon(self, lm: Path, tokens: list[str]) -> str:
        """A lexicon file (``word w o r d |`` per line) for the LM's words in the model's characters."""
        if getattr(self.tokenizer, "kind", "char") != "char":
            raise UserError("task.decoder.lm_path works with task.units=char (the lexicon spells words in characters)")
        words = list(self.cfg.words) if self.cfg.words else None
        if words is None:
            if lm.read_bytes()[:64].lstrip().startswith(b"\\data\\"):
                words = arpa_unigrams(lm)
            else:
                raise UserError(f"task.decoder.lm_path={lm}: a binary KenLM model needs task.decoder.words "
                                f"(the list of words it knows)")
        known = set(tokens)
        lines = [f"{w} {' '.join(w)} {SIL}" for w in dict.fromkeys(words) if w and set(w) <= known]
        if not lines:
            raise UserError(f"task.decoder.lm_path={lm}: none of its words can be spelled with the model's characters")
        handle = tempfile.NamedTemporaryFile("w", suffix=".lexicon", delete=False, encoding="utf-8")
        with handle:
            handle.write("\n".join(lines) + "\n")
        return handle.name
