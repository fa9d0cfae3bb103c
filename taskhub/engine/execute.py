"""One job, top to bottom: build the task's parts, fit, test, write the run directory.

This is what a Hydra job runs (``taskhub run`` and ``taskhub eval``, single or multirun).
"""
from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from taskhub.engine import checkpoint, distributed, length, preemption, resume_checks, schedule
from taskhub.engine.run_dir import locked, remove_stale_temporaries
from taskhub.engine.device import autocast_dtype, pick_device, seed_everything
from taskhub.engine.loop import evaluate, fit, make_batches
from taskhub.engine.progress import EpochProgress
from taskhub.engine.run import Run, scalars, write_json
from taskhub.data.contract import check_settings as check_dataset_settings
from taskhub.errors import UserError
from taskhub.tracking import manifest as tracking
from taskhub.plugins import get_host

log = logging.getLogger("taskhub")


def execute(cfg: DictConfig) -> dict[str, Any]:
    """Run the job ``cfg`` describes (``mode``: fit or eval) and return its summary."""
    if cfg.get("quiet"):
        _quiet_console()
    run_dir, overrides, choices = _hydra_context(cfg)
    device = pick_device(cfg.trainer.get("device"))
    # Process-wide, before the first parallel op: the threads torch starts later inherit it.
    torch.set_flush_denormal(bool(cfg.trainer.get("flush_denormal", True)))
    if cfg.trainer.get("num_threads"):
        torch.set_num_threads(int(cfg.trainer.num_threads))
    is_distributed = distributed.setup(device, cfg)  # every process runs rank 0's config, or one line says what differs
    finished = False
    try:
        with locked(run_dir, enabled=distributed.is_main()):  # one run per run directory
            if cfg.get("mode", "fit") == "eval":
                result = evaluate_checkpoint(cfg, run_dir, device, overrides, choices)
            elif cfg.get("mode") == "datacheck":  # taskhub data check: build the splits, check them, no training
                from taskhub.datacheck.core import check_job

                result = check_job(cfg, run_dir, choices)
            else:
                result = fit_and_test(cfg, run_dir, device, overrides, choices)
        finished = True
        return result
    finally:
        if is_distributed:
            distributed.teardown(wait=finished)


def _hydra_context(cfg: DictConfig) -> tuple[Path, list[str], dict[str, str]]:
    if HydraConfig.initialized():
        hc = HydraConfig.get()
        choices = {k: str(v) for k, v in hc.runtime.choices.items() if v is not None and not k.startswith("hydra")}
        return Path(hc.runtime.output_dir), list(hc.overrides.task), choices
    return Path(cfg.get("run_dir") or "."), [], {}


def build_task(cfg: DictConfig):
    task_name = cfg.task.name
    return get_host().task_class(task_name)(cfg)


def fit_and_test(cfg: DictConfig, run_dir: Path, device: torch.device, overrides: list[str],
                 choices: dict[str, str]) -> dict[str, Any]:
    seed_random = _choose_seed(cfg)
    seed_everything(int(cfg.seed), bool(cfg.trainer.get("deterministic", False)))
    length.check_settings(cfg.trainer)
    resume_checks.check_max_epochs(cfg.trainer)
    preemption.parse_every(cfg.trainer.get("checkpoint_every"))
    if distributed.is_main():
        remove_stale_temporaries(run_dir / "checkpoints")  # what a killed run left (we hold the lock)
    task = build_task(cfg)
    resume_from = checkpoint.resolve_resume(cfg.trainer.get("resume"), run_dir)
    ckpt = checkpoint.load(resume_from) if resume_from else None
    if ckpt is not None:  # same model; best.pt holds the best epoch (rank 0 repairs it)
        resume_checks.check_resume(ckpt, cfg, resume_from, run_dir, repair=distributed.is_main())
    if ckpt is not None:
        task.restore_resolved(ckpt.get("auto", {}))
        task.load_state_dict(ckpt["task_state"])
    check_dataset_settings(cfg.dataset, own=tuple(task.dataset_keys))  # typos and wrong types, before any data is read
    data = task.build_data("fit")
    model = task.build_model().to(device)
    run = Run(cfg=cfg, dir=run_dir, task=task, device=device, model=model, data=data,
              overrides=overrides, choices=choices, is_main=distributed.is_main())
    run.state["_seed_random"] = seed_random
    run.monitor = _monitor(cfg, task)
    train_batches = make_batches(run, "train", train=True)
    plan = length.plan(run, len(train_batches) if train_batches is not None else 0)  # max_epochs: auto
    run.optimizer = instantiate(cfg.optimizer, params=[p for p in model.parameters() if p.requires_grad])
    run.scheduler, run.state["_scheduler_interval"] = schedule.build(cfg, run.optimizer, run.monitor[1], plan,
                                                                     run.state)
    dtype = autocast_dtype(device, cfg.trainer.get("precision"))
    run.state["_autocast_dtype"] = dtype
    run.scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    if ckpt is not None:
        _restore(run, ckpt)
        log.info("resuming from %s after epoch %d", resume_from, run.epoch)
        if seed_random and ckpt["config"].get("seed") is not None:
            with open_dict(cfg):
                cfg.seed = int(ckpt["config"]["seed"])  # seed: null on resume: keep the run's own
    distributed.check_same_start(run)  # the same split sizes and resume point on every process
    forward_model: torch.nn.Module = model
    if distributed.world_size() > 1:
        forward_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.trainer.get("compile"):
        forward_model = torch.compile(forward_model)
    progress = EpochProgress("none" if cfg.get("quiet") else cfg.trainer.get("progress", "auto"), enabled=run.is_main,
                             every=cfg.trainer.get("log_every_n_steps", 50))
    _header(progress, run)
    started = time.perf_counter()
    with _reporting_errors(run):
        with progress, preemption.StepCheckpoints(run):  # checkpoint_every; SIGTERM saves and exits 75
            train_seconds = fit(run, forward_model, progress) if run.epoch < int(cfg.trainer.max_epochs) else 0.0
        fit_seconds = time.perf_counter() - started
        with progress:  # a bar for the test pass
            final = _final_results(run)
        summary = _summary(run, choices, final, train_seconds, fit_seconds)
        if run.is_main:
            task.plots(run)
            get_host().hook.on_fit_end(run=run, summary=summary)
            write_json(run_dir / "summary.json", summary)
            log.info("run directory: %s", run_dir)
            _log_results(summary, quiet=bool(cfg.get("quiet")))
    return summary


@contextlib.contextmanager
def _reporting_errors(run: Run) -> Iterator[None]:
    """Tell plugins (``on_fit_error``) that training or testing raised, then let the error go on."""
    try:
        yield
    except BaseException as error:
        if run.is_main:
            try:
                get_host().hook.on_fit_error(run=run, error=error)
            except Exception:  # a failing logger must not hide the run's own error
                log.exception("an on_fit_error hook failed")
        raise


def _choose_seed(cfg: DictConfig) -> bool:
    """``seed: null`` picks a seed at random and writes it into the config, so the checkpoint,
    ``summary.json`` and ``manifest.json`` record it. Returns whether it was chosen."""
    if cfg.get("seed") is not None:
        return False
    with open_dict(cfg):
        cfg.seed = distributed.from_rank0(secrets.randbelow(2**31))  # one seed for every process
    log.info("seed=%d (seed: null, chosen at random)", cfg.seed)
    return True


def _header(progress: EpochProgress, run: Run) -> None:
    """What a user wants to see before the first step: where, what, how big."""
    data = run.data
    sizes = {name: len(ds) for name in ("train", "val", "test") if data is not None
             and (ds := getattr(data, name, None)) is not None}
    params = sum(p.numel() for p in run.model.parameters())
    progress.header({
        "task": run.task.name, "model": run.choices.get("model") or run.task.model_name(),
        "dataset": run.choices.get("dataset", ""), "device": str(run.device), "parameters": f"{params:,}",
        "splits": " / ".join(f"{k} {v:,}" for k, v in sizes.items()), "run dir": str(run.dir),
    })


def _final_results(run: Run) -> dict[str, Any]:
    """Validation metrics of the best epoch, and test metrics of the best weights."""
    best_row = next((row for row in run.history if row["epoch"] == run.best_epoch), None)
    if run.best_epoch is not None and run.best_epoch != run.epoch:
        checkpoint.load_best(run)  # test the best weights, not the last ones (never other weights silently)
    final: dict[str, Any] = {k: v for k, v in (best_row or {}).items() if k.startswith("val/")}
    if best_row is None:
        final.update(evaluate(run, "val"))
    final.update(evaluate(run, "test"))
    return final


def _restore(run: Run, ckpt: dict[str, Any]) -> None:
    checkpoint.unwrap(run.model).load_state_dict(ckpt["model"])
    if ckpt.get("optimizer") and run.optimizer:
        run.optimizer.load_state_dict(ckpt["optimizer"])
    if ckpt.get("scheduler") and run.scheduler:
        run.scheduler.load_state_dict(ckpt["scheduler"])
    if ckpt.get("scaler") and run.scaler is not None and run.scaler.is_enabled():
        run.scaler.load_state_dict(ckpt["scaler"])
    run.epoch, run.global_step = int(ckpt["epoch"]), int(ckpt.get("global_step", 0))
    run.best, run.best_epoch = ckpt.get("best"), ckpt.get("best_epoch")
    run.history = list(ckpt.get("history", []))
    keep = {k: v for k, v in run.state.items() if k.startswith("_")}
    run.state = {**dict(ckpt.get("state", {})), **keep}
    if isinstance(ckpt.get("rng"), torch.Tensor):
        torch.set_rng_state(ckpt["rng"])
    preemption.restore_partial(run, ckpt)  # a mid-epoch checkpoint: where in the epoch it was taken
    partial = ckpt.get("partial") or {}
    run.state["_samples_at_start"] = run.state.get("train_samples", 0) + int(partial.get("samples", 0))


def _monitor(cfg: DictConfig, task) -> tuple[str, str]:
    from taskhub.task import objective  # the one rule, shared with sweepers

    return objective(cfg, task)


def _summary(run: Run, choices: dict[str, str], final: dict[str, Any], train_seconds: float,
             fit_seconds: float) -> dict[str, Any]:
    cfg = run.cfg
    samples = run.state.get("train_samples", 0) - run.state.get("_samples_at_start", 0)  # this process's run
    key, mode = run.monitor
    summary: dict[str, Any] = {
        "task": run.task.name,
        "model": choices.get("model") or run.task.model_name(),
        "dataset": choices.get("dataset") or str(cfg.dataset.get("_target_", "")).rsplit(".", 1)[-1],
        "epochs": run.epoch,
        "best_epoch": run.best_epoch,
        "objective": {"name": key, "mode": mode, "value": run.best},
        "train_seconds": round(train_seconds, 3),
        "fit_seconds": round(fit_seconds, 3),
        "samples_per_second": round(samples / train_seconds, 1) if train_seconds > 0 else None,
        "num_parameters": sum(p.numel() for p in run.model.parameters()),
        "device": str(run.device),
        "world_size": distributed.world_size(),
        "seed": int(cfg.seed),
        "run_dir": str(run.dir),
        "auto": {key: item["value"] for key, item in run.task.resolved.items()},
        **length.summary_fields(run),  # time_limit_seconds, time_used_seconds
    }
    summary.update(scalars(final))
    return summary


def _quiet_console() -> None:
    """``quiet``: console log handlers show errors only (the run directory's log file keeps everything)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.ERROR)


def _log_results(summary: dict[str, Any], quiet: bool = False) -> None:
    if quiet:
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary.get('task')} / {summary.get('model')} / {summary.get('dataset')}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if "/" in key and isinstance(value, float):
            table.add_row(key, f"{value:.4f}")
    Console().print(table)


def evaluate_checkpoint(cfg: DictConfig, run_dir: Path, device: torch.device, overrides: list[str],
                        choices: dict[str, str]) -> dict[str, Any]:
    """``taskhub eval``: the checkpoint's model and fitted state on the (possibly new) dataset."""
    if not cfg.get("ckpt"):
        raise UserError("taskhub eval needs ckpt=PATH")
    ckpt = checkpoint.load(cfg.ckpt)
    trained = checkpoint.trusted_config(ckpt, cfg.ckpt, cfg.get("trust"))
    with open_dict(cfg):
        cfg.model = trained.model  # the architecture is the checkpoint's, whatever the overrides say
    split = str(cfg.get("split", "test"))
    if split not in ("val", "test", "all"):
        raise UserError(f"split={split}: choose test, val or all")
    _choose_seed(cfg)
    seed_everything(int(cfg.seed))
    task = build_task(cfg)
    task.restore_resolved(ckpt.get("auto", {}))
    task.load_state_dict(ckpt["task_state"])
    check_dataset_settings(cfg.dataset, own=tuple(task.dataset_keys))
    data = task.build_data("eval")
    model = task.build_model().to(device)
    model.load_state_dict(ckpt["model"])
    run = Run(cfg=cfg, dir=run_dir, task=task, device=device, model=model, data=data,
              overrides=overrides, choices=choices, is_main=distributed.is_main())
    run.state["_autocast_dtype"] = autocast_dtype(device, cfg.trainer.get("precision"))
    tracking.record_evaluation(run, ckpt, cfg.ckpt)  # manifest.json; warns when data or versions differ
    results: dict[str, Any] = {}
    for name in (("val", "test") if split == "all" else (split,)):
        if getattr(data, name, None) is None:
            raise UserError(f"split={name}: dataset {choices.get('dataset', '')} has no {name} split")
        results.update(evaluate(run, name))
    summary = {
        "task": task.name,
        "model": ckpt.get("choices", {}).get("model") or task.model_name(),
        "dataset": choices.get("dataset") or "",
        "checkpoint": str(Path(cfg.ckpt).resolve()),
        "epochs": ckpt.get("epoch"),
        "device": str(device),
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "run_dir": str(run_dir),
        **scalars(results),
    }
    if run.is_main:
        task.plots(run)
        write_json(run_dir / "summary.json", summary)
        _log_results(summary, quiet=bool(cfg.get("quiet")))
    return summary
