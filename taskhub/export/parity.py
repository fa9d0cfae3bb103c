"""The parity check every export runs: eager and exported outputs on the same real batch.

Reported (and stored in the manifest): the largest absolute output difference, and the share of
samples whose final prediction (``ExportSpec.decide``: labels, transcripts, boxes) is the same.
The batch is also run as a batch of one, which proves the batch axis really is dynamic.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from taskhub.errors import UserError
from taskhub.export.formats import Runner
from taskhub.export.spec import ExportSpec


def eager_outputs(spec: ExportSpec, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    with torch.no_grad():
        out = spec.module(*(torch.from_numpy(a) for a in arrays.values()))
    return [t.detach().cpu().numpy() for t in (out if isinstance(out, (tuple, list)) else (out,))]


def _decisions(spec: ExportSpec, outputs: list[np.ndarray]) -> list[Any]:
    if spec.decide is not None:
        return list(spec.decide(outputs))
    return [[o[i] for o in outputs] for i in range(len(outputs[0]))]


def _same(spec: ExportSpec, a: Any, b: Any) -> bool:
    if spec.decide is not None:
        return a == b
    return all(x.shape == y.shape and np.allclose(x, y, atol=spec.tolerance, rtol=0) for x, y in zip(a, b))


def check_parity(spec: ExportSpec, runner: Runner, what: str) -> dict[str, Any]:
    """Run both on the example batch (and its first sample alone); raise beyond the tolerance."""
    full = {k: v.detach().cpu().numpy() for k, v in spec.example_inputs.items()}
    one = {k: v[:1] for k, v in full.items()}
    worst, agree, total = 0.0, 0, 0
    for arrays in (full, one):
        eager, exported = eager_outputs(spec, arrays), runner(arrays)
        if len(eager) != len(exported):
            raise UserError(f"{what}: the exported model returns {len(exported)} outputs, the eager one {len(eager)}")
        for e, x in zip(eager, exported):
            if e.shape != x.shape:
                raise UserError(f"{what}: exported output shape {x.shape} differs from eager {e.shape} "
                                f"(an axis that should be dynamic was fixed)")
            if e.size:
                diff = np.abs(e.astype(np.float64) - x.astype(np.float64))
                worst = max(worst, float(np.nanmax(diff)))
        if arrays is full:
            pairs = list(zip(_decisions(spec, eager), _decisions(spec, exported)))
            agree, total = sum(_same(spec, a, b) for a, b in pairs), len(pairs)
    report = {"max_abs_diff": worst, "agreement": agree / total if total else 1.0, "samples": total,
              "tolerance": spec.tolerance}
    if worst > spec.tolerance or agree < total:
        raise UserError(f"{what}: exported model disagrees with the eager one (max |diff| {worst:.3g}, tolerance "
                        f"{spec.tolerance:g}; {agree}/{total} predictions agree); the export was not kept")
    return report
