"""The default detector (CenterNet, from scratch, no pretrained weights) on Penn-Fudan: mAP@50 on
a held-out part against CPU training minutes.

Runs the shipped preset, ``taskhub run task=detection experiment=pennfudan_centernet
dataset.root=DIR`` (plugins/taskhub_detection/configs/experiment/pennfudan_centernet.yaml), or with
``--plain`` the plain command ``taskhub run task=detection dataset=pennfudan dataset.root=DIR``
(every other setting chosen by the data-aware defaults), and only adds measurement: a seeded
60/20/20 split of the 120 images (the test fifth is scored once, with the best checkpoint by val
mAP), one row per epoch (cumulative wall minutes, val mAP@50), then the test mAP. The CPU time of
the whole process (training, per-epoch validation and the test pass) is measured with
``resource.getrusage``, which, unlike wall time, does not grow when other jobs share the machine.
Target: test mAP@50 >= 0.6 within 20 CPU minutes of training (``--threads 1``).
Usage: python bench/detection_pennfudan.py [--root DIR] [--plain] [--threads 1] [overrides...]
"""
from __future__ import annotations

import argparse
import csv
import json
import resource
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRESET = ["experiment=pennfudan_centernet"]
PLAIN = ["dataset=pennfudan"]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "pennfudan"))
    parser.add_argument("--plain", action="store_true", help="the plain command instead of the preset")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="run directory (default: a temporary one)")
    parser.add_argument("overrides", nargs="*", help="more taskhub overrides")
    args = parser.parse_args()

    import taskhub

    run_dir = Path(args.out or tempfile.mkdtemp(prefix="bench_det_")) / "run"
    chosen = PLAIN if args.plain else PRESET
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    summary = taskhub.run("detection", [
        *chosen, f"dataset.root={args.root}", "trainer.device=cpu", f"trainer.num_threads={args.threads}",
        "trainer.progress=none", f"hydra.run.dir={run_dir}", *args.overrides])
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    minutes = 0.0
    print("epoch,train_minutes_wall,val_map_50")
    with open(run_dir / "metrics.csv") as f:
        for row in csv.DictReader(f):
            minutes += float(row["seconds"]) / 60
            print(f"{row['epoch']},{minutes:.2f},{float(row['val/map_50']):.3f}")
    result = {k: summary.get(k) for k in ("test/map_50", "test/map", "test/map_75", "train_seconds", "best_epoch")}
    result.update(cpu_minutes=round(cpu / 60, 2), wall_minutes=round(wall / 60, 2), run_dir=str(run_dir),
                  command=f"taskhub run task=detection {' '.join(chosen)} dataset.root={args.root}",
                  auto=summary.get("auto"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
