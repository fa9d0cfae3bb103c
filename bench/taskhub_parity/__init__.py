"""A bench-only taskhub task: a given model on given in-memory tensors, nothing else.

``bench/engine_overhead.py`` registers it in-process (it is not an installed plugin), so that
taskhub, the hand-written loop and Lightning run the very same model, optimizer and data and
the only difference left is the engine. ``STEPS`` collects a ``time.perf_counter()`` after each
optimizer step (the ``on_train_batch_end`` hook), ``EVENTS`` the fit start and checkpoints.
"""
from __future__ import annotations

import functools
import time
from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric, MetricCollection

import taskhub
from taskhub.data import InMemoryDataset, Splits

#: name -> {"train": {...tensors}, "val": {...}}; filled by the bench before a run.
DATA: dict[str, dict[str, dict[str, torch.Tensor]]] = {}
#: name -> a callable building a fresh model (same seed, same weights as the other loops).
MODELS: dict[str, Any] = {}
LOSSES: dict[str, str] = {}
STEPS: list[float] = []
EVENTS: dict[str, float] = {}


class ParityTask(taskhub.Task):
    name = "parity"
    objective = ("val/loss", "min")
    metrics = ("loss",)

    def build_data(self, stage: str) -> Splits:
        data = DATA[self.cfg.task.data]
        return Splits(train=InMemoryDataset(data["train"]), val=InMemoryDataset(data["val"]), test=None,
                      info={}, collate=None, skipped=[])

    def build_model(self) -> torch.nn.Module:
        return MODELS[self.cfg.task.data]()

    def build_metrics(self) -> MetricCollection:
        return MetricCollection({"mean_loss": MeanMetric()})

    def _loss(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out = model(batch["x"])
        if self._mse:
            return F.mse_loss(out, batch["y"])
        return F.cross_entropy(out, batch["y"])

    @functools.cached_property
    def _mse(self) -> bool:
        """Read once: a config lookup every step would be the bench's cost, not the engine's."""
        return LOSSES[self.cfg.task.data] == "mse"

    def training_step(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        return self._loss(model, batch)

    def evaluation_step(self, model: torch.nn.Module, batch: Any, metrics: MetricCollection) -> torch.Tensor:
        loss = self._loss(model, batch)
        metrics.update(loss)
        return loss


@taskhub.hookimpl
def on_fit_start(run: Any) -> None:
    EVENTS["fit_start"] = time.perf_counter()


@taskhub.hookimpl
def on_train_batch_end(run: Any, step: int, loss: torch.Tensor) -> None:
    STEPS.append(time.perf_counter())


@taskhub.hookimpl
def on_checkpoint(run: Any, path: Any, best: bool) -> None:
    EVENTS["checkpoint"] = time.perf_counter()


def install() -> None:
    """Register this module's task and hooks with taskhub's host (once per process)."""
    import sys

    from taskhub.plugins import get_host

    host = get_host()
    if "parity" in host.tasks:
        return
    host.pm.register(sys.modules[__name__], name="bench-parity")
    host._registrar("bench-parity")(ParityTask, name="parity", configs="taskhub_parity.configs")
