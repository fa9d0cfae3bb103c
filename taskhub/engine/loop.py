"""The training loop: one for every task, calling only the Task contract."""
from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import torch

from taskhub.engine import checkpoint, distributed, length, preemption
from taskhub.engine.batches import Batches, move_to
from taskhub.engine.budget import TimeBudget
from taskhub.engine.device import autocast
from taskhub.engine.progress import EpochProgress, evaluation_bar
from taskhub.engine.run import Run, scalars
from taskhub.plugins import get_host

log = logging.getLogger("taskhub")


def make_batches(run: Run, split: str, train: bool) -> Batches | None:
    dataset = getattr(run.data, split) if run.data else None
    if dataset is None or len(dataset) == 0:
        return None
    dcfg = run.cfg.dataset
    batch_size = dcfg.get("batch_size", 32) if train else (dcfg.get("eval_batch_size") or dcfg.get("batch_size", 32))
    return Batches(dataset, batch_size, shuffle=train, collate=run.data.collate,
                   num_workers=dcfg.get("num_workers", 0) or 0, seed=int(run.cfg.seed),
                   drop_last=bool(run.cfg.trainer.get("drop_last", False)) and train,
                   pin_memory=run.device.type == "cuda")


def fit(run: Run, model: torch.nn.Module, progress: EpochProgress) -> float:
    """Train from ``run.epoch`` to ``trainer.max_epochs``; returns seconds spent in training steps.

    ``model`` is what forward passes go through (DDP-wrapped under torchrun); ``run.model``
    is the bare model that evaluation and checkpoints use.
    """
    tcfg, hook = run.cfg.trainer, get_host().hook
    train = make_batches(run, "train", train=True)
    if train is None:
        raise ValueError(f"task {run.task.name} built no training data")
    train_seconds = 0.0
    hook.on_fit_start(run=run)
    budget = length.start_clock(run)  # trainer.time_limit; counts the time used, across resumes
    for epoch in range(run.epoch + 1, int(tcfg.max_epochs) + 1):
        if not length.room_for_epoch(run, budget):
            break
        train.set_epoch(epoch)
        started = time.perf_counter()
        budget.epoch_started()
        train_loss, samples = train_one_epoch(run, model, train, progress, epoch, budget)
        budget.epoch_end_started()
        seconds = time.perf_counter() - started
        train_seconds += seconds
        run.state["train_samples"] = run.state.get("train_samples", 0) + samples
        row: dict[str, Any] = {"epoch": epoch, "train/loss": train_loss}
        row.update(scalars(evaluate(run, "val")))
        row["lr"] = run.optimizer.param_groups[0]["lr"]
        row["seconds"] = round(time.perf_counter() - started, 3)
        step_scheduler(run, row, interval="epoch")
        run.epoch = epoch
        run.history.append(row)
        progress.end(row)
        if run.is_main:
            hook.on_epoch_end(run=run, epoch=epoch, metrics=row)
        best = run.improved(row)
        length.record_time(run, budget)  # saved with the checkpoints: a resume keeps counting
        if run.is_main:
            hook.on_checkpoint(run=run, path=checkpoint.save(run, run.checkpoint_dir / "last.pt"), best=False)
            if best:
                hook.on_checkpoint(run=run, path=checkpoint.save(run, run.checkpoint_dir / "best.pt"), best=True)
        budget.epoch_end_done()  # validation and checkpoints timed: the next epoch's estimate
        preemption.active(run).epoch_saved(epoch)  # a SIGTERM during validation exits here, saved
        if distributed.broadcast_flag(run.should_stop, run.device):
            log.info("stopping after epoch %d", epoch)
            break
    return train_seconds


def train_one_epoch(run: Run, model: torch.nn.Module, batches: Batches, progress: EpochProgress,
                    epoch: int, budget: TimeBudget | None = None) -> tuple[float, int]:
    tcfg, task, device = run.cfg.trainer, run.task, run.device
    accumulate = max(1, int(tcfg.get("accumulate_grad_batches") or 1))
    clip = tcfg.get("gradient_clip_val")
    limit = tcfg.get("limit_train_batches")
    total_steps = min(len(batches), int(limit)) if limit else len(batches)
    dtype = run.state.get("_autocast_dtype")
    on_step = get_host().hook.on_train_batch_end
    moves = device.type != "cpu"  # batches are built on the CPU: moving them there is a no-op per tensor
    has_no_sync = hasattr(model, "no_sync")  # DDP: skip the gradient all-reduce between accumulated batches
    model.train()
    # Summed on the device and read once per epoch: .item() every step would sync with the GPU.
    saver = preemption.active(run)  # trainer.checkpoint_every, SIGTERM; resumes mid-epoch
    skip, loss_sum, samples = saver.start(epoch, device)
    progress.start(f"epoch {epoch}/{tcfg.max_epochs}", total_steps, epoch=epoch, epochs=int(tcfg.max_epochs))
    keep_going = True
    for step, batch in enumerate(batches, start=1):
        if step > total_steps:
            break
        if step <= skip:  # done before a mid-epoch checkpoint: replayed through the data pipeline, not trained
            saver.replayed(step, skip)
            continue
        if moves:
            batch = move_to(batch, device, non_blocking=True)
        syncs = step % accumulate == 0 or step == total_steps
        no_sync = model.no_sync() if has_no_sync and not syncs else contextlib.nullcontext()
        with no_sync:
            with autocast(device, dtype):
                loss = task.training_step(model, batch)
            # x / 1 is exact: skipping it saves a division and its backward node every step
            run.scaler.scale(loss / accumulate if accumulate > 1 else loss).backward()
        if syncs:
            if clip:
                run.scaler.unscale_(run.optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), float(clip))
            run.scaler.step(run.optimizer)
            run.scaler.update()
            run.optimizer.zero_grad(set_to_none=True)
            # A time limit ends the epoch early; it also re-estimates the schedule's length.
            keep_going = budget is None or length.step_boundary(run, budget, epoch, step, total_steps)
            step_scheduler(run, None, interval="step")
            run.global_step += 1
            if run.is_main:  # the loss stays on the device: loggers read it only every N steps
                on_step(run=run, step=run.global_step, loss=loss.detach())
        n = task.batch_size(batch)
        loss_sum.add_(loss.detach().float(), alpha=n)  # one op (was a multiply and an add)
        samples += n
        if syncs and keep_going:
            saver.step_done(epoch, step, total_steps, loss_sum, samples)
        if progress.wants_value(step):
            progress.advance(step, {"loss": float(loss_sum) / max(samples, 1)}, samples=samples)
        if not keep_going:
            break
    totals = distributed.all_reduce_sum(torch.stack([loss_sum, torch.tensor(float(samples), device=device)]))
    return float(totals[0] / totals[1].clamp_min(1)), int(totals[1])  # samples over all processes


def step_scheduler(run: Run, row: dict[str, Any] | None, interval: str) -> None:
    """Advance the LR scheduler at its configured interval (plateau schedulers read the monitor)."""
    if run.scheduler is None or run.state.get("_scheduler_interval", "epoch") != interval:
        return
    if isinstance(run.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        if row is not None and run.monitor[0] in row:
            run.scheduler.step(row[run.monitor[0]])
        return
    run.scheduler.step()


@torch.inference_mode()
def evaluate(run: Run, split: str) -> dict[str, Any]:
    """Metrics of ``run.model`` on one split, keyed ``<split>/<name>`` (empty without that split)."""
    batches = make_batches(run, split, train=False)
    if batches is None:
        return {}
    limit = run.cfg.trainer.get("limit_val_batches") if split == "val" else None
    model, task, device = run.model, run.task, run.device
    metrics = task.build_metrics().to(device)
    model.eval()
    loss_sum = torch.zeros((), device=device)
    counted = torch.zeros((), device=device)
    total = min(len(batches), int(limit)) if limit else len(batches)
    with autocast(device, run.state.get("_autocast_dtype")), evaluation_bar(split, total) as tick:
        for step, batch in enumerate(batches, start=1):
            if limit and step > int(limit):
                break
            batch = move_to(batch, device, non_blocking=True)
            loss = task.evaluation_step(model, batch, metrics)
            tick(step)
            if loss is not None:
                n = task.batch_size(batch)
                loss_sum.add_(loss.detach().float(), alpha=n)  # one op (was a multiply and an add)
                counted += n
    totals = distributed.all_reduce_sum(torch.stack([loss_sum, counted]))
    results: dict[str, Any] = {}
    if totals[1] > 0:
        results[f"{split}/loss"] = float(totals[0] / totals[1])
    for name, value in metrics.compute().items():
        results[f"{split}/{name}"] = value.detach().cpu() if isinstance(value, torch.Tensor) else value
    run.results[split] = results
    return results
