"""Engine overhead: the same model, optimizer, data and batch size through (a) a hand-written loop,
(b) taskhub and (c) PyTorch Lightning, as per-step times (Lightning's parity methodology).

As in Lightning's ``tests/parity_pytorch`` and Fabric's ``tests/parity_fabric`` (``is_timing_close``
compares median step times): one process, the variants interleaved within each repeat (their order
rotated, so machine load hits them alike), the first ``--warmup`` steps of every run dropped, and
the median per-step time reported with the ratio to the hand-written loop. Every loop takes its
batches by slicing the same in-memory tensors with a seeded permutation, so only the engine differs.

* (a) hand-written: ``zero_grad / loss / backward / step`` over ``x[idx], y[idx]``; training only.
* (b) taskhub: ``taskhub.run("parity", ...)`` in this process (the bench-only task in
  ``bench/taskhub_parity``), everything on: a validation pass, ``last.pt``/``best.pt``, metrics.csv,
  summary.json, the run directory. Step times come from the ``on_train_batch_end`` hook.
* (c) Lightning: a ``LightningModule`` with the same model and optimizer, a validation pass, its
  ModelCheckpoint and CSVLogger on, progress bar and model summary off; step times from a Callback.

Models: ``cnn``, the original spec's CNN (Conv 32 3x3, ReLU, MaxPool 2, Dense 128, Dense 10) on
MNIST (54,000 training images, batch 32: 1,688 steps; 6,000 validation images), Adam 1e-3;
``lstm``, Lightning's ``ParityModuleRNN`` (LSTM 10->20, Linear 20->5, sequences of 100 steps,
MSE on ``AverageDataset``-style random data), batch 30, Adam 0.02; ``tiny`` (not in the default
list), Linear 10->1 on random data, batch 30: a near-empty step, so the difference in ms/step is
the engine's own per-step Python work.
"Whole run per step" is fit start to the end of the last checkpoint (hand-written: end of the
loop) divided by the steps: it includes validation and checkpoints where the loop has them.

Every loop runs with the same treatment of subnormal floats (``--flush-denormal``, default on, as
taskhub's ``trainer.flush_denormal``), so the ratios are the engines' and not the CPU mode's; run
``--flush-denormal off`` to see what the mode itself is worth.

Usage: python bench/engine_overhead.py [--models cnn,lstm] [--steps 1688] [--repeats 5] [--warmup 20]
       [--device cpu] [--threads 1] [--variants hand,taskhub,lightning] [--flush-denormal on|off] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import taskhub_parity  # noqa: E402  (bench/taskhub_parity: the bench-only task)


def spec_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * 13 * 13, 128), nn.ReLU(), nn.Linear(128, 10))


class ParityRNN(nn.Module):
    """Lightning's ParityModuleRNN: LSTM(10, 20, batch_first) then Linear(20, 5) on every step."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(10, 20, batch_first=True)
        self.linear_out = nn.Linear(20, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, _ = self.rnn(x)
        return self.linear_out(seq)


def parity_rnn() -> nn.Module:
    torch.manual_seed(0)
    return ParityRNN()


def tiny_linear() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(10, 1)


def mnist_tensors(root: Path) -> dict[str, dict[str, torch.Tensor]]:
    from mnist_cnn import read_mnist

    x, y = read_mnist(root)["train"]
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, val = order[:54_000], order[54_000:]
    return {"train": {"x": x[train].contiguous(), "y": y[train]}, "val": {"x": x[val].contiguous(), "y": y[val]}}


def average_tensors(n: int, sequence_len: int = 100) -> dict[str, torch.Tensor]:
    """Lightning's AverageDataset: the target mixes the two halves of each input vector."""
    g = torch.Generator().manual_seed(n)
    x = torch.randn(n, sequence_len, 10, generator=g)
    top, bottom = x.chunk(2, -1)
    return {"x": x, "y": top + bottom.roll(shifts=1, dims=-1)}


class Setup:
    def __init__(self, name: str, model: Callable[[], nn.Module], data: dict, batch: int, lr: float,
                 loss: str) -> None:
        self.name, self.model, self.data, self.batch, self.lr, self.loss = name, model, data, batch, lr, loss

    def loss_fn(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out, y) if self.loss == "mse" else F.cross_entropy(out, y)


def slices(data: dict[str, torch.Tensor], batch: int, seed: int, steps: int) -> Iterator[dict[str, torch.Tensor]]:
    n = len(data["y"])
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    for i, start in enumerate(range(0, n, batch)):
        if i >= steps:
            return
        idx = order[start:start + batch]
        yield {k: t[idx] for k, t in data.items()}


def hand_written(s: Setup, steps: int, device: torch.device, workdir: Path) -> tuple[list[float], float]:
    model = s.model().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr, fused=True)
    model.train()
    stamps: list[float] = []
    started = time.perf_counter()
    for batch in slices(s.data["train"], s.batch, 1, steps):
        x, y = batch["x"].to(device, non_blocking=True), batch["y"].to(device, non_blocking=True)
        loss = s.loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        stamps.append(time.perf_counter())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return stamps, time.perf_counter() - started


def with_taskhub(s: Setup, steps: int, device: torch.device, workdir: Path) -> tuple[list[float], float]:
    import taskhub

    taskhub_parity.install()
    taskhub_parity.DATA[s.name], taskhub_parity.MODELS[s.name], taskhub_parity.LOSSES[s.name] = \
        s.data, s.model, s.loss
    taskhub_parity.STEPS.clear()
    taskhub_parity.EVENTS.clear()
    taskhub.run("parity", [
        f"task.data={s.name}", "trainer.max_epochs=1", f"trainer.limit_train_batches={steps}",
        f"trainer.device={device}", "trainer.progress=none", f"trainer.num_threads={THREADS[0]}",
        f"trainer.flush_denormal={str(FLUSH[0]).lower()}", f"optimizer.lr={s.lr}", "seed=1",
        f"dataset.batch_size={s.batch}", f"hydra.run.dir={workdir / f'taskhub_{time.time_ns()}'}",
    ])
    events = taskhub_parity.EVENTS
    return list(taskhub_parity.STEPS), events["checkpoint"] - events["fit_start"]


def with_lightning(s: Setup, steps: int, device: torch.device, workdir: Path) -> tuple[list[float], float]:
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = s.model()

        def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
            return s.loss_fn(self.net(batch["x"]), batch["y"])

        def validation_step(self, batch: dict, batch_idx: int) -> None:
            self.log("val_loss", s.loss_fn(self.net(batch["x"]), batch["y"]), prog_bar=False)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=s.lr, fused=True)

    class Sliced:
        def __init__(self, data: dict, batch: int, limit: int) -> None:
            self.data, self.batch, self.limit = data, batch, limit

        def __len__(self) -> int:
            return min(self.limit, -(-len(self.data["y"]) // self.batch))

        def __iter__(self) -> Iterator[dict]:
            return slices(self.data, self.batch, 1, self.limit)

    stamps: list[float] = []
    events: dict[str, float] = {}

    class Clock(L.Callback):
        def on_fit_start(self, trainer, module) -> None:  # type: ignore[no-untyped-def]
            events["start"] = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
            stamps.append(time.perf_counter())

        def on_fit_end(self, trainer, module) -> None:  # type: ignore[no-untyped-def]
            events["end"] = time.perf_counter()

    root = workdir / f"lightning_{time.time_ns()}"
    trainer = L.Trainer(max_epochs=1, accelerator="gpu" if device.type == "cuda" else "cpu", devices=1,
                        logger=CSVLogger(root), default_root_dir=root, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, callbacks=[Clock()])
    trainer.fit(Module(), train_dataloaders=Sliced(s.data["train"], s.batch, steps),
                val_dataloaders=Sliced(s.data["val"], 1000, 10**9))
    return stamps, events["end"] - events["start"]


THREADS = [1]
FLUSH = [True]
VARIANTS = {"hand-written": hand_written, "taskhub": with_taskhub, "lightning": with_lightning}
SHORT = {"hand": "hand-written", "taskhub": "taskhub", "lightning": "lightning"}


def step_median(stamps: list[float], warmup: int) -> float:
    gaps = [b - a for a, b in zip(stamps, stamps[1:])][warmup:]
    return statistics.median(gaps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="cnn,lstm")
    parser.add_argument("--steps", type=int, default=1688, help="training steps per run (cnn: 1,688 = one epoch)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=20, help="steps dropped at the start of every run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", default="hand,taskhub,lightning")
    parser.add_argument("--root", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for every loop")
    parser.add_argument("--flush-denormal", choices=("on", "off"), default="on",
                        help="the CPU's treatment of subnormal floats, the same for every loop (taskhub's default: on)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    FLUSH[0] = args.flush_denormal == "on"
    torch.set_flush_denormal(FLUSH[0])  # before any parallel op: torch's threads inherit it
    torch.set_num_threads(args.threads)
    THREADS[0] = args.threads
    import logging
    import warnings

    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    device = torch.device(args.device)
    variants = [SHORT[v] for v in args.variants.split(",")]
    if "lightning" in variants:
        try:
            import lightning  # noqa: F401
        except ImportError:
            print("lightning is not installed (pip install -c constraints.txt -e .[bench]): skipping it", file=sys.stderr)
            variants.remove("lightning")
    setups = []
    for name in args.models.split(","):
        if name == "cnn":
            if not (args.root / "MNIST" / "raw").is_dir():
                print(f"skipping cnn: MNIST not found under {args.root} (expected MNIST/raw/*.gz)", file=sys.stderr)
                continue
            setups.append(Setup("cnn", spec_cnn, mnist_tensors(args.root), 32, 1e-3, "ce"))
        elif name == "tiny":  # a near-empty step: the difference to the loop is the engine's own per-step work
            setups.append(Setup("tiny", tiny_linear, {"train": {"x": torch.randn(30 * args.steps, 10),
                                                                "y": torch.randn(30 * args.steps, 1)},
                                                      "val": {"x": torch.randn(300, 10), "y": torch.randn(300, 1)}},
                                30, 1e-3, "mse"))
        elif name == "lstm":
            setups.append(Setup("lstm", parity_rnn, {"train": average_tensors(30 * args.steps),
                                                      "val": average_tensors(300)}, 30, 0.02, "mse"))
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores; "
          f"torch threads {torch.get_num_threads()}; flush denormals {args.flush_denormal}", flush=True)
    results: dict = {"load_average_start": load, "flush_denormal": FLUSH[0], "steps": args.steps, "repeats": args.repeats,
                     "warmup": args.warmup, "device": str(device), "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for s in setups:
            for v in variants:  # warm-up run per variant: imports, allocator, page cache
                VARIANTS[v](s, min(args.steps, args.warmup + 10), device, workdir)
            step = {v: [] for v in variants}
            whole = {v: [] for v in variants}
            for r in range(args.repeats):
                order = variants[r % len(variants):] + variants[:r % len(variants)]
                for v in order:
                    stamps, seconds = VARIANTS[v](s, args.steps, device, workdir)
                    step[v].append(step_median(stamps, args.warmup))
                    whole[v].append(seconds / len(stamps))
                print(f"{s.name} repeat {r + 1}: " + " | ".join(
                    f"{v} {step[v][-1] * 1e3:.3f} ms/step ({whole[v][-1] * 1e3:.3f} whole run)" for v in variants),
                    flush=True)
            base, base_whole = statistics.median(step["hand-written"]), statistics.median(whole["hand-written"])
            rows = {}
            for v in variants:
                rows[v] = {
                    "median_step_ms": round(statistics.median(step[v]) * 1e3, 4),
                    "overhead_ms": round((statistics.median(step[v]) - base) * 1e3, 4),
                    "ratio": round(statistics.median(a / b for a, b in zip(step[v], step["hand-written"])), 4),
                    "whole_run_per_step_ms": round(statistics.median(whole[v]) * 1e3, 4),
                    "whole_run_ratio": round(statistics.median(whole[v]) / base_whole, 4),
                }
            results["models"][s.name] = rows
            print(f"\n{s.name}: medians of {args.repeats} repeats, {args.steps} steps, first {args.warmup} dropped")
            print("| loop | median ms/step | overhead ms/step | ratio | whole run ms/step | whole-run ratio |")
            print("|---|---:|---:|---:|---:|---:|")
            for v, row in rows.items():
                print(f"| {v} | {row['median_step_ms']:.3f} | {row['overhead_ms']:+.3f} | {row['ratio']:.3f} | "
                      f"{row['whole_run_per_step_ms']:.3f} | {row['whole_run_ratio']:.3f} |", flush=True)
    results["load_average_end"] = os.getloadavg()
    print(f"load average at the end {results['load_average_end'][0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
