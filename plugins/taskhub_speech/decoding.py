"""CTC decoding: greedy (best path) and beam search with an optional n-gram language model.

Beam search uses pyctcdecode (pure Python; an ARPA/KenLM language model needs the ``kenlm``
package). torchaudio's ``ctc_decoder`` would need flashlight-text, which is not installed here.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from taskhub import UserError


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
    lm_path: str | None = None      # ARPA or KenLM binary n-gram model (beam only; needs kenlm)
    lm_weight: float = 0.5          # alpha
    word_score: float = 1.0         # beta
    words: list[str] | None = None  # unigrams of the LM (optional)


class Decoder:
    """Turns (B, T, V) log-probabilities into strings with the tokenizer's units."""

    def __init__(self, cfg: DecoderConfig, tokenizer) -> None:
        if cfg.type not in ("greedy", "beam"):
            raise UserError(f"task.decoder.type={cfg.type}: choose greedy or beam")
        if cfg.lm_path and cfg.type != "beam":
            raise UserError("task.decoder.lm_path needs task.decoder.type=beam")
        self.cfg, self.tokenizer = cfg, tokenizer
        self._beam = None

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[str]:
        if self.cfg.type == "greedy":
            return [self.tokenizer.decode(ids) for ids in greedy_ids(log_probs, lengths)]
        beam = self._beam_decoder()
        lp = log_probs.float().cpu().numpy()
        return [" ".join(beam.decode(lp[i, :n], beam_width=int(self.cfg.beam_width)).split())
                for i, n in enumerate(lengths.tolist())]

    def _beam_decoder(self):
        if self._beam is not None:
            return self._beam
        import logging

        logging.getLogger("pyctcdecode").setLevel(logging.ERROR)  # it warns about kenlm at import
        from pyctcdecode import build_ctcdecoder

        lm = self.cfg.lm_path
        if lm:
            from pathlib import Path

            if not Path(lm).expanduser().is_file():
                raise UserError(f"task.decoder.lm_path={lm}: no such file")
            try:
                import kenlm  # noqa: F401
            except ImportError:
                raise UserError(f"task.decoder.lm_path={lm}: n-gram language models need the kenlm package "
                                f"(pip install kenlm); or set task.decoder.lm_path=null") from None
        self._beam = build_ctcdecoder(self.tokenizer.labels(), kenlm_model_path=str(lm) if lm else None,
                                      unigrams=list(self.cfg.words) if self.cfg.words else None,
                                      alpha=float(self.cfg.lm_weight), beta=float(self.cfg.word_score))
        return self._beam
