"""Streamed image pipeline: taskhub's ImageFolder (``in_memory=false``) through the engine's batches
vs torchvision's ``ImageFolder`` + ``DataLoader`` with the same work, at num_workers 0, 1 and 2.

A temporary folder of ``--images`` small JPEGs (4 classes, 96x96, written once with PIL) is read
for whole epochs (batch 32, shuffled); no model runs, so this is the data pipeline alone.
taskhub: ``taskhub_vision.datasets.imagefolder(..., image_size=64, in_memory=False)`` (decoding with
``torchvision.io.decode_image``, resize to 64x64 uint8) iterated by ``taskhub.engine.batches.Batches``.
Reference: ``torchvision.datasets.ImageFolder`` (PIL loader) with ``v2.PILToTensor()`` and
``v2.Resize((64, 64))``, a plain ``DataLoader``. Variants interleaved in every repeat after one
warm-up epoch each; samples/second medians and the ratio taskhub / reference per worker count.
Usage: python bench/pipelines.py [--images 2000] [--repeats 3] [--workers 0,1,2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def make_jpegs(root: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96]
    for i in range(n):
        folder = root / f"class_{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        base = (np.sin(xx / (3 + i % 7)) + np.cos(yy / (2 + i % 5))) * 60 + 128
        pixels = np.clip(base[..., None] + rng.normal(0, 20, (96, 96, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:05d}.jpg", quality=90)


def epoch_rate(batches) -> float:  # type: ignore[no-untyped-def]
    started, samples = time.perf_counter(), 0
    for batch in batches:
        samples += len(batch["image"] if isinstance(batch, dict) else batch[0])
    return samples / (time.perf_counter() - started)


def taskhub_batches(root: Path, workers: int):  # type: ignore[no-untyped-def]
    from taskhub.engine.batches import Batches
    from taskhub_vision.datasets import imagefolder

    splits = imagefolder(str(root), image_size=64, in_memory=False, val_fraction=0.0, test_fraction=0.0, seed=0)
    return Batches(splits.train, 32, shuffle=True, collate=splits.collate, num_workers=workers, seed=0)


def reference_batches(root: Path, workers: int):  # type: ignore[no-untyped-def]
    from torch.utils.data import DataLoader
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import v2

    dataset = ImageFolder(str(root), transform=v2.Compose([v2.PILToTensor(), v2.Resize((64, 64), antialias=True)]))
    return DataLoader(dataset, batch_size=32, shuffle=True, num_workers=workers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", default="0,1,2")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} on {os.cpu_count()} cores; torch threads {torch.get_num_threads()}", flush=True)
    variants = {"taskhub": taskhub_batches, "torchvision": reference_batches}
    rates = {(v, w): [] for v in variants for w in workers}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images"
        make_jpegs(root, args.images)
        loaders = {(v, w): fn(root, w) for v, fn in variants.items() for w in workers}
        for key, loader in loaders.items():  # warm-up: page cache, imports
            epoch_rate(loader)
        for r in range(args.repeats):
            keys = list(loaders)
            keys = keys[r % len(keys):] + keys[:r % len(keys)]
            for key in keys:
                rates[key].append(epoch_rate(loaders[key]))
            print(f"repeat {r + 1}: " + " | ".join(f"{v} w{w} {rates[(v, w)][-1]:.0f}/s" for v, w in loaders), flush=True)
    rows = {}
    print(f"\nmedians of {args.repeats} repeats, {args.images} JPEGs 96x96 -> 64x64, batch 32")
    print("| num_workers | taskhub samples/s | torchvision samples/s | ratio |")
    print("|---:|---:|---:|---:|")
    for w in workers:
        t, ref = rates[("taskhub", w)], rates[("torchvision", w)]
        ratio = statistics.median(a / b for a, b in zip(t, ref))
        rows[w] = {"taskhub": statistics.median(t), "torchvision": statistics.median(ref), "ratio": ratio}
        print(f"| {w} | {rows[w]['taskhub']:.0f} | {rows[w]['torchvision']:.0f} | {ratio:.3f} |")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"load_average": load, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
