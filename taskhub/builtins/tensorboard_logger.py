"""The ``tensorboard`` logger (``logger=[csv,tensorboard]``): event files that
``tensorboard --logdir`` reads, written with ``torch.utils.tensorboard``.

Per optimizer step (every ``every_n_steps``): ``train/loss_step`` and ``lr_step``, at the step.
Per epoch: every number of the epoch's row (``train/loss``, the ``val/`` metrics, ``lr``), at
the epoch. At the start the resolved config as text; at the end the test metrics, the config as
hparams (TensorBoard's HParams tab) and the run's PNG plots as images.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskhub.hookspecs import hookimpl
from taskhub.run_state import Run
from taskhub.tracking.loggers import Channel, flat_config, on_error, require, resolved_yaml, settings

if TYPE_CHECKING:
    import torch

log = logging.getLogger("taskhub")
NAME = "tensorboard"
STATE_KEY = "_tensorboard"


class Writer:
    """The run's SummaryWriter and its settings (kept in ``run.state``, never checkpointed)."""

    def __init__(self, writer: Any, channel: Channel, every: int, images: bool) -> None:
        self.writer, self.channel, self.every, self.images = writer, channel, every, images


def _open(run: Run, options: dict[str, Any]) -> Any:
    tb = require("torch.utils.tensorboard", NAME, "tensorboard")
    log_dir = Path(options.get("log_dir") or run.dir / "tensorboard").expanduser()
    log_dir.mkdir(parents=True, exist_ok=True)
    return tb.SummaryWriter(log_dir=str(log_dir))


@hookimpl
def on_fit_start(run: Run) -> None:
    options = settings(run, NAME)
    if options is None or not run.is_main:
        return
    channel = Channel(NAME, on_error(options, NAME))
    every = options.get("every_n_steps")
    writer = channel.open(lambda: _open(run, options), "its log directory")
    if writer is None:
        return
    run.state[STATE_KEY] = Writer(writer, channel, int(every) if every else 0, bool(options.get("log_images", True)))
    # Markdown: four-space indent keeps the YAML's layout in TensorBoard's Text tab.
    text = "\n".join("    " + line for line in resolved_yaml(run.cfg).splitlines())
    channel.call(writer.add_text, "config", text, global_step=run.epoch)


@hookimpl
def on_train_batch_end(run: Run, step: int, loss: torch.Tensor) -> None:
    tb: Writer | None = run.state.get(STATE_KEY)
    if tb is None or not tb.every or step % tb.every:
        return
    lr = run.optimizer.param_groups[0]["lr"] if run.optimizer else None
    tb.channel.call(_step, tb.writer, step, float(loss), lr)  # float(): the one sync, every N steps


def _step(writer: Any, step: int, loss: float, lr: float | None) -> None:
    writer.add_scalar("train/loss_step", loss, global_step=step)
    if lr is not None:
        writer.add_scalar("lr_step", lr, global_step=step)


@hookimpl
def on_epoch_end(run: Run, epoch: int, metrics: dict[str, float]) -> None:
    tb: Writer | None = run.state.get(STATE_KEY)
    if tb is None:
        return
    tb.channel.call(_epoch, tb.writer, epoch, metrics)


def _epoch(writer: Any, epoch: int, metrics: dict[str, float]) -> None:
    for key, value in metrics.items():
        if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
            writer.add_scalar(key if key != "seconds" else "time/epoch_seconds", float(value), global_step=epoch)
    writer.flush()


@hookimpl(trylast=True)  # after the csv logger has drawn learning_curves.png
def on_fit_end(run: Run, summary: dict[str, Any]) -> None:
    tb: Writer | None = run.state.pop(STATE_KEY, None)
    if tb is None:
        return
    tb.channel.call(_finish, tb, run, summary)
    tb.channel.alive = True
    tb.channel.call(tb.writer.close)


def _finish(tb: Writer, run: Run, summary: dict[str, Any]) -> None:
    from torch.utils.tensorboard.summary import hparams

    writer = tb.writer
    final = {k: float(v) for k, v in summary.items()
             if k.startswith("test/") and isinstance(v, (int, float)) and not isinstance(v, bool)}
    for key, value in final.items():
        writer.add_scalar(key, value, global_step=run.epoch)
    # HParams in this run's own event file (SummaryWriter.add_hparams would start a sub-run).
    params = {k: v if isinstance(v, (int, float, str, bool)) else str(v)
              for k, v in flat_config(run.cfg).items() if v is not None}
    metrics = dict(final)
    if not metrics and run.best is not None:
        metrics = {run.monitor[0]: float(run.best)}
    for summary_pb in hparams(params, metrics):
        writer.file_writer.add_summary(summary_pb)
    if tb.images:
        for png in sorted(run.dir.glob("*.png")):
            _image(writer, png, run.epoch)
    writer.flush()


def _image(writer: Any, path: Path, step: int) -> None:
    import numpy as np
    from PIL import Image

    with Image.open(path) as img:
        pixels = np.asarray(img.convert("RGB"))
    writer.add_image(f"plots/{path.stem}", pixels, global_step=step, dataformats="HWC")


@hookimpl
def on_fit_error(run: Run, error: BaseException) -> None:
    tb: Writer | None = run.state.pop(STATE_KEY, None)
    if tb is not None:
        tb.channel.call(tb.writer.close)
