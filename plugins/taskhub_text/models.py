"""Text classifiers. Each takes ``vocab_size``, ``num_classes`` and ``pad_id`` (filled in by the
task from the tokenizer and labels) plus its own settings, and is called as
``model(input_ids, lengths)`` on right-padded batches; padding never changes a prediction."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from taskhub import UserError, require_extra

log = logging.getLogger("taskhub")


# --- embeddings, optionally from pretrained word vectors ----------------------------------------
def read_vectors(path: str | Path, vocab: Sequence[str], dim: int) -> tuple[torch.Tensor, int]:
    """Rows for ``vocab`` from a GloVe or word2vec text file (a ``count dim`` header line is
    skipped), and how many tokens were found; tokens not in the file keep a random row."""
    p = Path(str(path)).expanduser()
    if not p.is_file():
        raise UserError(f"model.vectors={path}: file not found (a GloVe/word2vec text file)")
    index = {tok: i for i, tok in enumerate(vocab)}
    folded = {tok.lower(): i for i, tok in enumerate(vocab)}
    weights = torch.randn(len(vocab), dim) * 0.1
    found: dict[int, bool] = {}  # row -> matched exactly (an exact match beats a case-folded one)
    with open(p, encoding="utf-8", errors="replace") as f:
        for line_no, line in enumerate(f, start=1):
            parts = line.rstrip().split(" ")
            if line_no == 1 and len(parts) == 2 and all(x.isdigit() for x in parts):
                continue  # word2vec header
            if len(parts) < 2:
                continue
            word = parts[0]
            exact = word in index
            i = index[word] if exact else folded.get(word.lower())
            if i is None or found.get(i) or (i in found and not exact):
                continue
            if len(parts) - 1 != dim:
                raise UserError(f"{p}:{line_no}: {len(parts) - 1}-dimensional vectors but model.embedding_dim={dim}; "
                                f"set model.embedding_dim={len(parts) - 1}")
            weights[i] = torch.tensor([float(x) for x in parts[1:]])
            found[i] = exact
    return weights, len(found)


def make_embedding(vocab_size: int, dim: int, pad_id: int, vectors: str | None = None, freeze: bool = False,
                   vocab: Sequence[str] | None = None) -> nn.Embedding:
    """An embedding whose padding row is zero (so padding contributes nothing). With ``vectors``
    and the tokenizer's ``vocab`` (given when training starts; a checkpoint already holds the
    rows) it starts from pretrained word vectors, frozen or fine-tuned."""
    emb = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
    with torch.no_grad():  # Kim (2014)'s U(-0.25, 0.25): N(0, 1) rows learn slower from scratch
        emb.weight.uniform_(-0.25, 0.25)
        emb.weight[pad_id] = 0.0
    if vectors and vocab is not None:
        weights, found = read_vectors(vectors, vocab, dim)
        weights[pad_id] = 0.0
        with torch.no_grad():
            emb.weight.copy_(weights)
        log.info("word vectors: %d of %d tokens found in %s", found, vocab_size, vectors)
    if vectors and freeze:
        emb.weight.requires_grad_(False)
    return emb


def _mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """(B, width) True on real tokens."""
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def pool(states: torch.Tensor, lengths: torch.Tensor, how: str) -> torch.Tensor:
    """Mean or max of (B, T, D) states over each sequence's real positions only."""
    mask = _mask(lengths, states.shape[1]).unsqueeze(-1)
    if how == "mean":
        return (states * mask).sum(1) / lengths.clamp_min(1).unsqueeze(-1).to(states.dtype)
    if how == "max":
        return states.masked_fill(~mask, float("-inf")).max(1).values
    raise UserError(f"model.pooling={how}: choose last, mean or max")


# --- recurrent -----------------------------------------------------------------------------------
class RecurrentClassifier(nn.Module):
    """Embedding, a (bi)LSTM/GRU/RNN over packed sequences (padding never enters the recurrence),
    pooling (``last`` hidden state, ``mean`` or ``max`` over time), dropout, linear head.

    Regularisation for small data (SST-2 overfits after an epoch or two): ``embedding_dropout``
    (element-wise on the embeddings; null: ``dropout``) and ``word_dropout`` (while training, each
    token's whole vector is zeroed with this probability, so no single word can be relied on)."""

    CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int = 0, cell: str = "lstm",
                 embedding_dim: int = 128, hidden_size: int = 128, num_layers: int = 1, bidirectional: bool = True,
                 dropout: float = 0.3, pooling: str = "max", vectors: str | None = None,
                 freeze_vectors: bool = False, vocab: Sequence[str] | None = None,
                 embedding_dropout: float | None = None, word_dropout: float = 0.0) -> None:
        super().__init__()
        if cell not in self.CELLS:
            from taskhub import unknown_choice

            raise unknown_choice("recurrent cell", cell, self.CELLS, "(model.cell)")
        if pooling not in ("last", "mean", "max"):
            raise UserError(f"model.pooling={pooling}: choose last, mean or max")
        self.pooling = pooling
        self.embedding = make_embedding(vocab_size, embedding_dim, pad_id, vectors, freeze_vectors, vocab)
        self.rnn = self.CELLS[cell](embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                                    bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.embedding_dropout = nn.Dropout(dropout if embedding_dropout is None else float(embedding_dropout))
        self.word_dropout = float(word_dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding_dropout(self.embedding(input_ids))
        if self.training and self.word_dropout > 0:
            keep = torch.rand(x.shape[:2], device=x.device) >= self.word_dropout
            x = x * keep.unsqueeze(-1).to(x.dtype)
        # lengths on the CPU: pack_padded_sequence needs them there (a sync point on GPUs).
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, hidden = self.rnn(packed)
        if self.pooling == "last":
            h = hidden[0] if isinstance(hidden, tuple) else hidden  # LSTM returns (h, c)
            # The last layer's final state per direction (backward's final state is at t=0).
            h = h[-2:] if self.rnn.bidirectional else h[-1:]
            features = torch.cat(list(h), dim=-1)
        else:
            states, _ = pad_packed_sequence(out, batch_first=True, total_length=input_ids.shape[1])
            features = pool(states, lengths.to(states.device), self.pooling)
        return self.head(self.dropout(features))


# --- convolutional (Kim 2014) ---------------------------------------------------------------------
class CNNClassifier(nn.Module):
    """Kim (2014): embedding, parallel 1-D convolutions of several widths, ReLU, max over time,
    dropout, linear head. Windows that start past a sequence's end are masked, so padding never
    changes the max; sequences shorter than the widest filter are padded up to it."""

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int = 0, embedding_dim: int = 128,
                 filter_sizes: Sequence[int] = (3, 4, 5), num_filters: int = 100, dropout: float = 0.5,
                 vectors: str | None = None, freeze_vectors: bool = False, vocab: Sequence[str] | None = None) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.filter_sizes = [int(k) for k in filter_sizes]
        self.embedding = make_embedding(vocab_size, embedding_dim, pad_id, vectors, freeze_vectors, vocab)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_dim, num_filters, k) for k in self.filter_sizes)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(num_filters * len(self.filter_sizes), num_classes)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        widest = max(self.filter_sizes)
        if input_ids.shape[1] < widest:
            input_ids = nn.functional.pad(input_ids, (0, widest - input_ids.shape[1]), value=self.pad_id)
        x = self.dropout(self.embedding(input_ids)).transpose(1, 2)  # (B, D, T)
        features = []
        for k, conv in zip(self.filter_sizes, self.convs):
            h = torch.relu(conv(x))  # (B, F, T - k + 1)
            # A window is real if it starts at or before max(len - k, 0).
            valid = torch.arange(h.shape[-1], device=h.device)[None, :] <= (lengths[:, None] - k).clamp_min(0)
            features.append(h.masked_fill(~valid.unsqueeze(1), float("-inf")).max(-1).values)
        return self.head(self.dropout(torch.cat(features, dim=-1)))


# --- bag of embeddings (fastText) ---------------------------------------------------------------------
class BagOfEmbeddings(nn.Module):
    """fastText-style: the mean of token embeddings (plus hashed n-gram embeddings when
    ``ngrams`` > 1), an optional hidden layer, then the classes. Fast and a strong baseline."""

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int = 0, embedding_dim: int = 64,
                 ngrams: int = 1, buckets: int = 20_000, hidden: int | None = None, dropout: float = 0.5,
                 vectors: str | None = None, freeze_vectors: bool = False, vocab: Sequence[str] | None = None) -> None:
        super().__init__()
        self.ngrams, self.buckets = int(ngrams), int(buckets)
        self.embedding = make_embedding(vocab_size, embedding_dim, pad_id, vectors, freeze_vectors, vocab)
        self.ngram_embedding = nn.Embedding(self.buckets, embedding_dim) if self.ngrams > 1 else None
        # Small initial rows (fastText's uniform +-1/dim): with N(0, 1) rows the random part of a
        # mean of embeddings swamps what training learns, and the bag learns slowly.
        for table in (self.embedding, self.ngram_embedding):
            if table is not None and not (vectors and vocab is not None and table is self.embedding):
                with torch.no_grad():
                    table.weight.uniform_(-1.0 / embedding_dim, 1.0 / embedding_dim)
                    if table.padding_idx is not None:
                        table.weight[table.padding_idx] = 0.0
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        if hidden:
            layers += [nn.Linear(embedding_dim, int(hidden)), nn.ReLU(), nn.Dropout(dropout)]
        layers.append(nn.Linear(int(hidden) if hidden else embedding_dim, num_classes))
        self.head = nn.Sequential(*layers)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = _mask(lengths, input_ids.shape[1]).unsqueeze(-1)
        total = (self.embedding(input_ids) * mask).sum(1)
        count = lengths.clamp_min(1).to(total.dtype)
        if self.ngram_embedding is not None:
            for n in range(2, self.ngrams + 1):
                if input_ids.shape[1] < n:
                    break
                ids = input_ids[:, : input_ids.shape[1] - n + 1]
                h = ids.clone()
                for j in range(1, n):  # a polynomial hash of the n ids, into the buckets
                    h = (h * 1_000_003 + input_ids[:, j: j + ids.shape[1]]) % self.buckets
                valid = _mask(lengths - n + 1, ids.shape[1]).unsqueeze(-1)
                total = total + (self.ngram_embedding(h) * valid).sum(1)
                count = count + (lengths - n + 1).clamp_min(0).to(total.dtype)
        return self.head(total / count.unsqueeze(-1))


# --- Hugging Face transformers ------------------------------------------------------------------------
def _blocks(module: nn.Module) -> nn.ModuleList | None:
    """The transformer's list of blocks: the longest ModuleList inside ``module``."""
    lists = [m for m in module.modules() if isinstance(m, nn.ModuleList)]
    return max(lists, key=len) if lists else None


def freeze_backbone(net: nn.Module, freeze: int | str) -> None:
    """``model.freeze``: ``head`` trains only the classification head; a number N also trains the
    last N transformer blocks. Frozen parameters get no gradient (the optimizer skips them)."""
    if isinstance(freeze, str) and freeze != "head":
        if not freeze.isdigit():
            raise UserError(f"model.freeze={freeze}: choose head (train the head only), a number N (the head "
                            f"and the last N blocks), or null")
        freeze = int(freeze)
    base = getattr(net, "base_model", None)
    if base is None or base is net:
        raise UserError("model.freeze: this model has no separate backbone to freeze")
    for p in base.parameters():
        p.requires_grad_(False)
    keep = 0 if freeze == "head" else int(freeze)
    blocks = _blocks(base)
    if keep and blocks is not None:
        if keep > len(blocks):
            raise UserError(f"model.freeze={keep}: the model has only {len(blocks)} blocks")
        for block in list(blocks)[-keep:]:
            for p in block.parameters():
                p.requires_grad_(True)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    total = sum(p.numel() for p in net.parameters())
    log.info("model.freeze=%s: %d of %d parameters train (%s)", freeze, trainable, total,
             "the head" if not keep else f"the head and the last {keep} blocks")



class HFClassifier(nn.Module):
    """Any Hugging Face sequence-classification model: ``pretrained`` (a local folder or a hub name,
    which downloads), or a new one built from ``config`` (``model_type`` plus its settings) with
    no download. Its tokenizer should be the pretrained one (the task picks it when
    ``task.tokenizer.pretrained`` is null)."""

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int = 0, pretrained: str | None = None,
                 config: dict[str, Any] | None = None, vocab: Sequence[str] | None = None,
                 freeze: int | str | None = None) -> None:
        super().__init__()
        require_extra("transformers", "hf", "model=transformer")
        from transformers import AutoConfig, AutoModelForSequenceClassification
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        if pretrained:
            try:
                self.net = AutoModelForSequenceClassification.from_pretrained(
                    str(pretrained), num_labels=num_classes, ignore_mismatched_sizes=True)
            except Exception as exc:
                first = str(exc).splitlines()[0][:160] if str(exc) else ""
                raise UserError(f"model.pretrained={pretrained}: cannot load it ({type(exc).__name__}: {first}); "
                                f"without internet, pass a local folder (save_pretrained's files or a downloaded "
                                f"snapshot)") from None
            if self.net.get_input_embeddings().num_embeddings < vocab_size:
                self.net.resize_token_embeddings(vocab_size)
        else:
            settings = dict(config or {})
            model_type = settings.pop("model_type", "bert")
            hf_config = AutoConfig.for_model(model_type, vocab_size=vocab_size, num_labels=num_classes,
                                             pad_token_id=pad_id, **settings)
            self.net = AutoModelForSequenceClassification.from_config(hf_config)
        if self.net.config.pad_token_id is None:
            self.net.config.pad_token_id = pad_id  # models without a pad token (GPT-2) pool at the last real one
        if freeze not in (None, 0, "none"):
            freeze_backbone(self.net, freeze)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = _mask(lengths.to(input_ids.device), input_ids.shape[1]).long()
        return self.net(input_ids=input_ids, attention_mask=mask).logits
