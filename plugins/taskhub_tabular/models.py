"""Tabular models: the spec's FNN, with embeddings for categorical columns."""
from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU, "elu": nn.ELU,
               "leaky_relu": nn.LeakyReLU}


class MLP(nn.Module):
    """Dense layers on standardised numbers and embedded categories.

    The default (``hidden=[64]``, relu, one output for two classes) is the original spec's
    ``Dense(64, relu) -> Dense(1, sigmoid)``; the sigmoid lives in the loss
    (``BCEWithLogitsLoss``) for numerical stability.
    """

    def __init__(self, in_features: int, out_features: int, cardinalities: list[int] | None = None,
                 hidden: list[int] = (64,), activation: str = "relu", dropout: float = 0.0,
                 batch_norm: bool = False, embedding_dim: int | None = None) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"model.activation={activation}: choose one of {', '.join(ACTIVATIONS)}")
        # One embedding per categorical column; the rule of thumb min(16, (n+1)//2) unless set.
        self.embeddings = nn.ModuleList(
            nn.Embedding(n, embedding_dim or min(16, (n + 1) // 2)) for n in (cardinalities or []))
        width = in_features + sum(e.embedding_dim for e in self.embeddings)
        layers: list[nn.Module] = []
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, num: torch.Tensor, cat: torch.Tensor | None = None) -> torch.Tensor:
        parts = [num]
        if cat is not None and len(self.embeddings):
            parts += [emb(cat[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.net(torch.cat(parts, dim=-1))
