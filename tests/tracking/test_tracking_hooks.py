"""The two hooks tracking added: per optimizer step, and on a run that raised."""
from __future__ import annotations

import json

import pytest
import torch

import taskhub
from taskhub.plugins import get_host
from taskhub.testing import run_task

from tracking_helpers import TINY


class StepRecorder:
    def __init__(self) -> None:
        self.steps: list[int] = []
        self.losses: list[torch.Tensor] = []

    @taskhub.hookimpl
    def on_train_batch_end(self, run, step, loss):
        self.steps.append(step)
        self.losses.append(loss)
        assert run.global_step == step


class FailsInEpoch:
    def __init__(self, error: BaseException) -> None:
        self.error, self.seen = error, []

    @taskhub.hookimpl
    def on_epoch_end(self, run, epoch, metrics):
        raise self.error

    @taskhub.hookimpl
    def on_fit_error(self, run, error):
        self.seen.append(error)


def test_on_train_batch_end_fires_per_optimizer_step(tmp_path):
    recorder = StepRecorder()
    get_host().pm.register(recorder, name="step-recorder")
    try:
        # 240 training images, batch 32: 8 batches; accumulating 2 makes 4 optimizer steps an epoch.
        summary = run_task("vision", tmp_path / "run", *TINY, "trainer.accumulate_grad_batches=2")
    finally:
        get_host().pm.unregister(name="step-recorder")
    assert recorder.steps == list(range(1, 9))
    assert all(t.dim() == 0 and not t.requires_grad for t in recorder.losses)
    assert summary["epochs"] == 2


@pytest.mark.parametrize("error, status", [(RuntimeError("disk on fire"), "failed"), (KeyboardInterrupt(), "stopped")])
def test_on_fit_error_sees_the_error_and_the_manifest_records_it(tmp_path, error, status):
    plugin = FailsInEpoch(error)
    get_host().pm.register(plugin, name="fails")
    try:
        with pytest.raises(type(error)):
            run_task("vision", tmp_path / "run", *TINY)
    finally:
        get_host().pm.unregister(name="fails")
    assert plugin.seen == [error]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == status and manifest["ended"]
    assert not (tmp_path / "run" / "summary.json").exists()
