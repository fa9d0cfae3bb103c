"""What a task hands ``taskhub export``: the network to trace, a real batch, names and fitted state.

A task opts in by returning an :class:`ExportSpec` from ``Task.export_spec(model, batch)``.
The host does the rest (tracing, the parity check, the bundle folder), so the spec holds data
only, plus one optional function that turns outputs into final predictions for the parity report.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch


@dataclass
class ExportSpec:
    """One exportable network and everything inference needs besides its weights.

    ``module``: what is traced: the model itself, or a part of it (detection exports the network
    and keeps box decoding in the task). Called as ``module(*example_inputs.values())``.
    ``example_inputs``: input name -> tensor, in the order ``module`` takes them, from real data
    (the validation batch the host passes in). Axis 0 of every input and output is the batch and
    is always dynamic.
    ``output_names``: one name per output tensor (a tuple output gives several).
    ``dynamic_axes``: other variable axes, e.g. ``{"input_ids": {1: "sequence"}}``.
    ``state``: fitted state as JSON-able data (labels, normalisation, vocabulary, scaler), written
    to ``state.json`` and handed back to ``Task.load_bundle_state``.
    ``files``: more fitted state in a library's own text format, e.g. ``{"tokenizer.json": ...}``.
    ``decide``: output arrays (in ``output_names`` order) -> one final prediction per sample
    (label ids, transcripts, boxes), compared between eager and exported outputs; ``None``
    compares the outputs themselves, sample by sample, within ``tolerance``.
    ``tolerance``: the largest absolute output difference the export accepts.
    """

    module: torch.nn.Module
    example_inputs: dict[str, torch.Tensor]
    output_names: Sequence[str]
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    decide: Callable[[list[np.ndarray]], list[Any]] | None = None
    tolerance: float = 1e-3

    def axes(self) -> dict[str, dict[int, str]]:
        """Every input's and output's dynamic axes: the batch (axis 0) always, then the task's."""
        names = [*self.example_inputs, *self.output_names]
        out = {name: {0: "batch"} for name in names}
        for name, axes in self.dynamic_axes.items():
            out.setdefault(name, {0: "batch"}).update({int(k): str(v) for k, v in axes.items()})
        return out
