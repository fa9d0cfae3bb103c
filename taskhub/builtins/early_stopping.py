"""Early stopping: ends training when the run's objective stops improving.

Configured by ``trainer.early_stopping.patience`` (epochs without improvement; null: off) and
``min_delta``. Its counter lives in ``run.state`` so it survives a resume.
"""
from __future__ import annotations

import logging

from taskhub.hookspecs import hookimpl
from taskhub.run_state import Run

log = logging.getLogger("taskhub")


@hookimpl
def on_epoch_end(run: Run, epoch: int, metrics: dict[str, float]) -> None:
    settings = run.cfg.trainer.get("early_stopping") or {}
    patience = settings.get("patience")
    key, mode = run.monitor
    if patience is None or key not in metrics:
        return
    state = run.state.setdefault("early_stopping", {"best": None, "wait": 0})
    value, best = metrics[key], state["best"]
    delta = float(settings.get("min_delta") or 0.0)
    if best is None or (value > best + delta if mode == "max" else value < best - delta):
        state["best"], state["wait"] = value, 0
        return
    state["wait"] += 1
    if state["wait"] >= int(patience):
        log.info("early stopping: %s has not improved for %d epochs (best %.4g)", key, state["wait"], best)
        run.should_stop = True
