"""Forecast models: a window ``[batch, input_length, channels]`` in, ``[batch, horizon, channels]`` out."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class Recurrent(nn.Module):
    """A recurrent layer, then one Dense layer from its last hidden state to the whole horizon.

    The default (``cell=lstm``, 50 units) is the original spec's ``LSTM(50) -> Dense``; the
    Dense layer emits every step of the horizon at once (no error-compounding feedback loop).
    """

    def __init__(self, in_channels: int, out_channels: int, horizon: int, input_length: int = 0,
                 cell: str = "lstm", hidden_size: int = 50, num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"model.cell={cell}: choose one of {', '.join(CELLS)}")
        self.horizon, self.out_channels = horizon, out_channels
        self.rnn = CELLS[cell](in_channels, hidden_size, num_layers=num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size, horizon * out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).view(-1, self.horizon, self.out_channels)


class CausalCNN(nn.Module):
    """Stacked 1-D convolutions padded on the left only (no step sees its future), dilations
    doubling per layer so the receptive field covers the window; a Dense head reads the last step."""

    def __init__(self, in_channels: int, out_channels: int, horizon: int, input_length: int = 0,
                 channels: int = 32, kernel_size: int = 3, layers: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.horizon, self.out_channels, self.kernel_size = horizon, out_channels, kernel_size
        self.convs = nn.ModuleList(
            nn.Conv1d(in_channels if i == 0 else channels, channels, kernel_size, dilation=2 ** i)
            for i in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels, horizon * out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)  # [batch, channels, time]
        for i, conv in enumerate(self.convs):
            out = F.relu(conv(F.pad(h, ((self.kernel_size - 1) * 2 ** i, 0))))
            h = self.dropout(out + h if out.shape == h.shape else out)  # residual once widths match
        return self.head(h[:, :, -1]).view(-1, self.horizon, self.out_channels)
