"""Chronological windows and the seasonal-naive forecast.

A window starting at ``s`` reads ``[s, s + input_length)`` and forecasts ``[s + input_length,
s + input_length + horizon)``. A split owns the windows whose *targets* lie wholly inside its
time range; their inputs may reach back into earlier ranges (that past is known at forecast
time), but no target of one split overlaps another's, and val/test targets all come after
every training target.
"""
from __future__ import annotations

import numpy as np
import torch

from taskhub import UserError


def window_starts(begin: int, end: int, input_length: int, horizon: int, stride: int) -> np.ndarray:
    """Starts of the windows whose targets lie in ``[begin, end)``, every ``stride`` steps."""
    first = max(begin - input_length, 0)
    last = end - input_length - horizon  # the last start whose target still ends by ``end``
    starts = np.arange(first, last + 1, max(1, stride))
    return starts[starts + input_length >= begin]


def make_windows(scaled: np.ndarray, starts: np.ndarray, input_length: int, horizon: int) -> dict[str, torch.Tensor]:
    """``x`` [n, input_length, channels], ``y`` [n, horizon, channels] and ``t`` (the first target index)."""
    x_index = starts[:, None] + np.arange(input_length)[None, :]
    y_index = starts[:, None] + input_length + np.arange(horizon)[None, :]
    values = torch.as_tensor(scaled, dtype=torch.float32)
    return {"x": values[torch.as_tensor(x_index)], "y": values[torch.as_tensor(y_index)],
            "t": torch.as_tensor(starts + input_length, dtype=torch.long)}


def seasonal_naive(x: torch.Tensor, horizon: int, season: int) -> torch.Tensor:
    """Each future step copies the value one (or more) seasons earlier: ``y[T+h] = y[T+h - m*ceil(h/m)]``.

    ``x`` is [batch, input_length, channels]; needs ``input_length >= season * ceil(horizon / season)``.
    """
    length = x.shape[1]
    steps = torch.arange(1, horizon + 1)
    back = season * torch.ceil(steps / season).long()
    index = length - 1 + steps - back  # position in the input window
    if int(index.min()) < 0:
        raise UserError(f"task.season={season} with task.horizon={horizon} needs task.input_length >= "
                        f"{int(back.max())}; raise input_length or lower season")
    return x[:, index.to(x.device)]
