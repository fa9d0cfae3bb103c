"""The default detector (CenterNet, from scratch, no pretrained weights) on Penn-Fudan: mAP@50 on
a held-out part against CPU training minutes.

Trains with ``taskhub.run`` (seeded 60/20/20 split of the 120 images; the test fifth is held
out and only scored after training) and prints one row per epoch: cumulative training minutes,
val mAP@50, then the final test mAP@50. Target: test mAP@50 >= 0.6 within 20 CPU minutes.
Usage: python bench/detection_pennfudan.py [--root DIR] [--epochs 60] [--threads 2] [--out DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "pennfudan" / "PennFudanPed"))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--input-size", type=int, default=192)
    parser.add_argument("--out", default=None, help="run directory (default: a temporary one)")
    parser.add_argument("overrides", nargs="*", help="more taskhub overrides")
    args = parser.parse_args()

    import taskhub

    run_dir = Path(args.out or tempfile.mkdtemp(prefix="bench_det_")) / "run"
    summary = taskhub.run("detection", [
        "dataset=pennfudan", f"dataset.root={args.root}", f"trainer.max_epochs={args.epochs}",
        f"model.input_size={args.input_size}", "dataset.max_size=320", "scheduler=cosine",
        "optimizer.lr=2e-3", "trainer.device=cpu", f"trainer.num_threads={args.threads}",
        "trainer.progress=none", f"hydra.run.dir={run_dir}", *args.overrides])
    minutes = 0.0
    print("epoch,train_minutes,val_map_50")
    with open(run_dir / "metrics.csv") as f:
        for row in csv.DictReader(f):
            minutes += float(row["seconds"]) / 60
            print(f"{row['epoch']},{minutes:.2f},{float(row['val/map_50']):.3f}")
    print(json.dumps({k: summary[k] for k in ("test/map_50", "test/map", "train_seconds", "best_epoch")}))


if __name__ == "__main__":
    main()
