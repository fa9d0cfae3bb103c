"""Start-up cost of listing plugins: ``taskhub plugins --json`` against ``python -c "import torch"``.

Both are fresh interpreters (start-up is the point), run interleaved in this process run, after
one warm-up each (the OS file cache); we report the medians and the ratio. Listing must not
import task modules, torch, torchmetrics or Hydra: target ratio <= 0.5.
Usage: python bench/startup.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "import torch": [sys.executable, "-c", "import torch"],
    "taskhub plugins --json": [sys.executable, "-m", "taskhub", "plugins", "--json"],
    "taskhub --help": [sys.executable, "-m", "taskhub", "--help"],
}
TARGET = 0.5


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm-up: file cache, .pyc files
        seconds(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(seconds(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians["import torch"]
    result = {
        "repeats": args.repeats,
        "median_seconds": {name: round(value, 3) for name, value in medians.items()},
        "ratio_to_import_torch": {name: round(value / baseline, 3) for name, value in medians.items()},
        "target": TARGET,
    }
    result["met"] = result["ratio_to_import_torch"]["taskhub plugins --json"] <= TARGET
    print(json.dumps(result, indent=2))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
