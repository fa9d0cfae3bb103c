"""The original spec's CNN on MNIST, one epoch, batch 32, Adam 1e-3: taskhub vs a hand-written loop.

taskhub runs the shipped preset: ``taskhub run task=vision experiment=mnist_cnn dataset.root=DIR``.

Both run in this process, interleaved, several repeats; we report medians and the time ratio
(taskhub / hand-written) with both test accuracies. The hand-written loop is what a
practitioner would type: a DataLoader over a TensorDataset, the same model, the same data
files read from ../shared/data/mnist. Usage: python bench/mnist_cnn.py [--repeats 3] [--root DIR]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]


def read_mnist(root: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    import gzip

    import numpy as np

    def idx(name: str) -> np.ndarray:
        raw = gzip.decompress((root / "MNIST" / "raw" / f"{name}.gz").read_bytes())
        ndim = raw[3]
        shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
        return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)

    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = torch.from_numpy(idx(f"{prefix}-images-idx3-ubyte").copy()).float().div(255).sub(0.1307).div(0.3081)
        out[split] = (x.unsqueeze(1), torch.from_numpy(idx(f"{prefix}-labels-idx1-ubyte").astype("int64")))
    return out


def spec_cnn() -> nn.Module:
    # Conv2D(32, 3x3, relu), MaxPool(2), Flatten, Dense(128, relu), Dense(10)
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * 13 * 13, 128), nn.ReLU(), nn.Linear(128, 10))


def taskhub_cnn() -> nn.Module:
    from taskhub_vision.models import SimpleCNN

    return SimpleCNN(1, (28, 28), 10)


def hand_written(root: Path, seed: int, model_fn=spec_cnn, fused: bool = False) -> tuple[float, float]:
    started = time.perf_counter()
    torch.manual_seed(seed)
    data = read_mnist(root)
    model = model_fn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
    loader = DataLoader(TensorDataset(*data["train"]), batch_size=32, shuffle=True)
    model.train()
    for x, y in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(TensorDataset(*data["test"]), batch_size=1000):
            correct += (model(x).argmax(1) == y).sum().item()
    return time.perf_counter() - started, correct / len(data["test"][1])


def with_taskhub(root: Path, seed: int, workdir: Path) -> tuple[float, float]:
    import taskhub

    started = time.perf_counter()
    # exactly the shipped preset (plugins/taskhub_vision/configs/experiment/mnist_cnn.yaml), plus measurement
    summary = taskhub.run("vision", [
        "experiment=mnist_cnn", f"dataset.root={root}", "trainer.progress=none",
        "trainer.device=cpu", f"seed={seed}", f"hydra.run.dir={workdir / f'run_{seed}_{time.time_ns()}'}",
    ])
    return time.perf_counter() - started, summary["test/accuracy"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not (args.root / "MNIST" / "raw").is_dir():
        print(f"MNIST not found under {args.root} (expected MNIST/raw/*.gz)", file=sys.stderr)
        return 2
    # "hand-written, taskhub's model": the same loop with taskhub's CNN and fused Adam, to separate
    # what the engine saves (batching) from what the built-in model and optimizer settings save.
    rows = {"hand-written": [], "taskhub": [], "hand-written, taskhub's model": []}
    with tempfile.TemporaryDirectory() as tmp:
        with_taskhub(args.root, 0, Path(tmp))  # warm-up: imports, plugin loading, page cache
        for r in range(args.repeats):
            rows["hand-written"].append(hand_written(args.root, r))
            rows["taskhub"].append(with_taskhub(args.root, r, Path(tmp)))
            rows["hand-written, taskhub's model"].append(hand_written(args.root, r, taskhub_cnn, fused=True))
            print(f"repeat {r + 1}: " + " | ".join(f"{k} {v[-1][0]:.2f}s acc {v[-1][1]:.4f}" for k, v in rows.items()),
                  flush=True)
    med = {k: (statistics.median(t for t, _ in v), statistics.median(a for _, a in v)) for k, v in rows.items()}
    ratio = statistics.median(t / h for (t, _), (h, _) in zip(rows["taskhub"], rows["hand-written"]))
    same = statistics.median(t / h for (t, _), (h, _) in zip(rows["taskhub"], rows["hand-written, taskhub's model"]))
    print(f"\nmedians of {args.repeats}: " + ", ".join(f"{k} {m[0]:.2f}s (test acc {m[1]:.4f})" for k, m in med.items()))
    print(f"time ratio taskhub / hand-written: {ratio:.3f} (target <= 0.85)")
    print(f"time ratio taskhub / hand-written with taskhub's model and fused Adam: {same:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "median": med, "ratio": ratio, "ratio_same_model": same}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
