"""Training samples/second of each task's default model on its built-in data: taskhub vs a
hand-written PyTorch loop over the same model, data and optimizer, in one process.

taskhub: ``taskhub.run(TASK, ["trainer.max_epochs=1", "trainer.limit_train_batches=STEPS", ...])``
with the task's defaults (its built-in synthetic dataset, default model, batch size, workers);
``summary.json``'s ``samples_per_second`` (the training epoch's samples over its seconds).
Hand-written: at ``on_fit_start`` this script keeps the run's freshly built model (a copy of its
initial weights), training split, collate, batch size, workers and optimizer settings; then a plain
loop: ``DataLoader(train, batch_size, shuffle=True, collate_fn, num_workers)``, the task's own loss
(``task.training_step``), ``backward``, ``step``, ``zero_grad``, for the same number of steps.
Interleaved repeats, medians; ratio = taskhub / hand-written samples/s (above 1: taskhub faster).
With ``--device cuda`` taskhub runs its default precision (mixed on GPUs); the loop runs fp32 unless
``--amp`` (bf16 autocast). ``--data real`` runs each task on its dataset in ../shared/data instead
(MNIST, SST-2, FSDD, Penn-Fudan; tabular and forecast have none there).
Usage: python bench/throughput.py [--tasks vision,tabular,...] [--steps 50] [--repeats 3]
       [--data builtin,real] [--device cpu] [--amp] [--json FILE]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

TASKS = ("vision", "tabular", "forecast", "text", "speech", "detection")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: One real dataset per task from ../shared/data (tabular and forecast have none there).
REAL = {"vision": ("mnist", DATA / "mnist"), "text": ("sst2", DATA / "sst2"),
        "speech": ("fsdd", DATA / "fsdd" / "recordings"), "detection": ("pennfudan", DATA / "pennfudan")}
CAPTURED: dict[str, Any] = {}


class Capture:
    """Keeps what the hand-written loop needs from taskhub's run, before its first step."""

    import taskhub as _taskhub

    @_taskhub.hookimpl
    def on_fit_start(self, run: Any) -> None:
        if CAPTURED.get("task_name") == run.task.name:
            return
        opt = run.optimizer
        CAPTURED.update(task_name=run.task.name, task=run.task, model=copy.deepcopy(run.model).cpu(),
                        train=copy.deepcopy(run.data.train), collate=run.data.collate,
                        batch_size=int(run.cfg.dataset.get("batch_size", 32)),
                        num_workers=int(run.cfg.dataset.get("num_workers", 0) or 0),
                        optimizer=(type(opt), _init_kwargs(type(opt), opt.defaults)))


def _init_kwargs(cls: type, defaults: dict[str, Any]) -> dict[str, Any]:
    """The optimizer's settings its constructor takes (AdamW's defaults hold more than that)."""
    import inspect

    accepted = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in defaults.items() if k in accepted and k != "params"}


def with_taskhub(task: str, steps: int, device: str, workdir: Path, data: list[str]) -> float:
    import taskhub

    summary = taskhub.run(task, [*data, "trainer.max_epochs=1", f"trainer.limit_train_batches={steps}",
                                 f"trainer.device={device}", "trainer.progress=none", "logger=[]",
                                 f"hydra.run.dir={workdir / f'{task}_{time.time_ns()}'}"])
    return float(summary["samples_per_second"])


def hand_written(steps: int, device: torch.device, amp: bool) -> float:
    from torch.utils.data import DataLoader

    from taskhub.engine.batches import move_to

    c = CAPTURED
    model = copy.deepcopy(c["model"]).to(device)
    cls, kwargs = c["optimizer"]
    opt = cls(model.parameters(), **kwargs)
    # A fresh copy each time: datasets that cache decoded files (detection) start cold, as taskhub's run does.
    loader = DataLoader(copy.deepcopy(c["train"]), batch_size=c["batch_size"], shuffle=True, collate_fn=c["collate"],
                        num_workers=c["num_workers"], pin_memory=device.type == "cuda")
    model.train()
    samples, started = 0, time.perf_counter()
    for i, batch in enumerate(loader):
        if i >= steps:
            break
        batch = move_to(batch, device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = c["task"].training_step(model, batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        samples += c["task"].batch_size(batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return samples / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--data", default="builtin,real",
                        help="builtin: each task's built-in data; real: its dataset from ../shared/data")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from taskhub.plugins import get_host

    get_host().pm.register(Capture(), name="bench-throughput")
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} on {os.cpu_count()} cores; torch threads {torch.get_num_threads()}", flush=True)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for task in args.tasks.split(","):
            if "builtin" in args.data:
                runs.append((task, "built-in", []))
            if "real" in args.data and task in REAL and REAL[task][1].exists():
                name, folder = REAL[task]
                runs.append((task, name, [f"dataset={name}", f"dataset.root={folder}"]))
        for task, data_name, data in runs:
            key = f"{task} ({data_name})"
            CAPTURED.clear()
            try:
                with_taskhub(task, max(2, args.steps // 5), args.device, Path(tmp), data)  # warm-up, and the capture
            except Exception as exc:  # one task failing must not hide the others' numbers
                print(f"{key}: skipped ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})", flush=True)
                continue
            hand_written(max(2, args.steps // 5), torch.device(args.device), args.amp)
            th, hw = [], []
            for r in range(args.repeats):
                pair = [("taskhub", th), ("hand", hw)]
                for name, out in (pair if r % 2 == 0 else pair[::-1]):
                    out.append(with_taskhub(task, args.steps, args.device, Path(tmp), data) if name == "taskhub"
                               else hand_written(args.steps, torch.device(args.device), args.amp))
            rows[key] = {"taskhub": statistics.median(th), "hand_written": statistics.median(hw),
                         "ratio": statistics.median(a / b for a, b in zip(th, hw))}
            print(f"{key}: taskhub {rows[key]['taskhub']:.0f}/s, hand-written {rows[key]['hand_written']:.0f}/s, "
                  f"ratio {rows[key]['ratio']:.3f}", flush=True)
    print(f"\nmedians of {args.repeats} repeats, {args.steps} steps, device {args.device}")
    print("| task (data) | taskhub samples/s | hand-written samples/s | ratio |")
    print("|---|---:|---:|---:|")
    for task, row in rows.items():
        print(f"| {task} | {row['taskhub']:.0f} | {row['hand_written']:.0f} | {row['ratio']:.3f} |")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"load_average": load, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
