"""The text task's data-aware defaults: each rule turns a statistic of the training split (its
size, its token lengths, how often each vocabulary entry occurs) into one setting, with the
reason the run logs. A rule applies only where the config says ``auto``; a user's value wins.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

#: Training texts from which a word seen once is more noise than signal (it becomes [UNK]).
MIN_FREQ_TEXTS = 2_000
#: Vocabulary caps: below / from 100,000 training texts.
VOCAB_CAP_SMALL, VOCAB_CAP_LARGE, LARGE_CORPUS = 20_000, 50_000, 100_000
#: max_length: this quantile of the training texts' token lengths, rounded up to a multiple of 8, capped.
LENGTH_QUANTILE, LENGTH_MULTIPLE, MIN_LENGTH, MAX_LENGTH = 0.99, 8, 16, 512
#: Regularisation by training tokens per vocabulary entry (how often the model sees each word):
#: (below this many, dropout, embedding dropout, word dropout, decoupled weight decay).
REGULARISATION = (
    (50, 0.5, 0.5, 0.3, 0.05),        # rare words (sentence-level corpora of a few thousand texts)
    (1_000, 0.3, 0.3, 0.0, 0.01),     # words seen tens to hundreds of times
    (math.inf, 0.2, 0.2, 0.0, 0.01),  # large corpora: every word seen often
)
#: Width (embedding and hidden size) of the recurrent models by training tokens: below this many,
#: this width. A narrower network memorises a small corpus less and trains faster.
WIDTH = ((1_000_000, 64), (10_000_000, 128), (math.inf, 256))
#: Learning rates: fine-tuning pretrained weights, and training from scratch (AdamW).
FINETUNE_LR, SCRATCH_LR = 3e-5, 2e-3
#: Linear warm-up (a fraction of the optimizer steps) when starting from pretrained weights.
FINETUNE_WARMUP = 0.06


def min_frequency(num_texts: int) -> tuple[int, str]:
    if num_texts >= MIN_FREQ_TEXTS:
        return 2, f"{num_texts} training texts (>= {MIN_FREQ_TEXTS}): words seen once become [UNK]"
    return 1, f"only {num_texts} training texts (< {MIN_FREQ_TEXTS}): every word is kept"


def vocab_size(num_texts: int, types_kept: int | None = None) -> tuple[int, str]:
    """A cap on the vocabulary: 20,000 entries below 100,000 training texts, 50,000 from there."""
    cap = VOCAB_CAP_LARGE if num_texts >= LARGE_CORPUS else VOCAB_CAP_SMALL
    why = f"at most {cap} for {num_texts} training texts"
    if types_kept is not None and types_kept < cap:
        why += f" ({types_kept} words pass the frequency cut-off)"
    return cap, why


def max_length(lengths: Sequence[int], limit: int | None = None) -> tuple[int, str]:
    """The 99th percentile of the training texts' token lengths, rounded up to a multiple of 8,
    between 16 and 512 (and the model's own limit, for pretrained transformers)."""
    if not lengths:
        return MIN_LENGTH, "no training texts"
    ordered = sorted(lengths)
    q = ordered[min(len(ordered) - 1, math.ceil(LENGTH_QUANTILE * len(ordered)) - 1)]
    cap = min(MAX_LENGTH, limit) if limit else MAX_LENGTH
    value = int(min(cap, max(MIN_LENGTH, LENGTH_MULTIPLE * math.ceil(q / LENGTH_MULTIPLE))))
    share = sum(1 for n in ordered if n <= value) / len(ordered)
    return value, (f"99th percentile of the training texts' lengths is {q} tokens (longest {ordered[-1]}); "
                   f"{share:.1%} fit untruncated")


def regularisation(tokens: int, vocab: int) -> tuple[tuple[float, float, float, float], str]:
    """(dropout, embedding dropout, word dropout, weight decay) for a corpus of ``tokens`` training
    tokens over a vocabulary of ``vocab`` entries: the fewer times each entry is seen, the more a
    model can memorise its examples, so the stronger the regularisation."""
    per_entry = tokens / max(1, vocab)
    for bound, *values in REGULARISATION:
        if per_entry < bound:
            return tuple(values), f"{per_entry:.0f} training tokens per vocabulary entry ({tokens} / {vocab})"
    raise AssertionError("unreachable: the last bound is infinite")


def width(tokens: int) -> tuple[int, str]:
    """The recurrent models' embedding and hidden size for a corpus of ``tokens`` training tokens."""
    for bound, value in WIDTH:
        if tokens < bound:
            below = f" (< {bound:,})" if bound != math.inf else ""
            return value, f"{tokens} training tokens{below}: a narrower network memorises a small corpus less"
    raise AssertionError("unreachable: the last bound is infinite")


def vector_dim(path: str) -> int | None:
    """The dimension of a GloVe/word2vec text file (from its header or its first row); None when unreadable."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            parts = f.readline().rstrip().split(" ")
    except OSError:
        return None
    if len(parts) == 2 and all(x.isdigit() for x in parts):
        return int(parts[1])
    return len(parts) - 1 if len(parts) > 1 else None
