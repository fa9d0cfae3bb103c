"""Forecast metrics beyond torchmetrics' built-ins: the error relative to the seasonal-naive baseline."""
from __future__ import annotations

import torch
from torchmetrics import Metric


class RelativeMAE(Metric):
    """Model MAE divided by the seasonal-naive MAE on the same windows (below 1 beats the baseline).

    Kept as summed absolute errors, so it is exact across batches and processes (a mean of
    per-batch ratios would not be).
    """

    full_state_update = False
    higher_is_better = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("model_error", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("naive_error", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, naive: torch.Tensor, target: torch.Tensor) -> None:
        self.model_error += (preds - target).abs().sum().double()
        self.naive_error += (naive - target).abs().sum().double()

    def compute(self) -> torch.Tensor:
        return self.model_error / self.naive_error.clamp_min(1e-12)
