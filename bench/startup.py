"""Start-up cost of listing plugins: ``taskhub plugins --json`` against ``python -c "import torch"``.

Both are fresh interpreters (start-up is the point), run interleaved in this process run, after
one warm-up each (the OS file cache); we report the medians and the ratio. Listing must not
import task modules, torch, torchmetrics or Hydra: target ratio <= 0.5.

Time to first step: ``taskhub run task=vision`` (its default data, CPU) from process start to the
first optimizer step (``bench/first_step.py``, which exits there), interleaved with the same
``import torch``; target ratio <= 2, with the breakdown (interpreter, imports, plugin load, Hydra
composition, data build, model/optimizer/run directory, first step).
Usage: python bench/startup.py [--repeats 5] [--no-first-step] [--task vision]
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


FIRST_STEP_TARGET = 2.0
PHASES = (("interpreter", "spawned", "interpreter"), ("imports", "interpreter", "imports"),
          ("plugin load", "imports", "plugins"),
          ("launch imports (torch, Hydra)", "plugins", "hydra_start"),
          ("Hydra composition, task module import", "hydra_start", "data_start"),
          ("data build", "data_start", "data_end"), ("model, optimizer, run dir", "data_end", "fit_start"),
          ("on_fit_start hooks (manifest, data check)", "fit_start", "fit_hooks_done"),
          ("first step", "fit_hooks_done", "first_step"))


def first_step(workdir: Path, task: str = "vision") -> dict[str, float]:
    """One ``taskhub run task=TASK`` to its first training step: the phases' seconds."""
    import os

    env = {**os.environ, "TASKHUB_BENCH_SPAWNED": repr(time.time())}
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("first_step.py")), f"task={task}",
                          "trainer.device=cpu", "trainer.progress=none", f"hydra.run.dir={workdir / str(time.time_ns())}"],
                         check=True, capture_output=True, text=True, env=env).stdout
    marks = json.loads(out.strip().splitlines()[-1])
    phases = {name: marks[b] - marks[a] for name, a, b in PHASES if a in marks and b in marks}
    phases["total"] = marks["first_step"] - marks["spawned"]
    return phases


def first_step_report(repeats: int, task: str = "vision") -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        seconds(COMMANDS["import torch"])
        first_step(Path(tmp), task)  # warm-up
        torch_times, runs = [], []
        for _ in range(repeats):
            torch_times.append(seconds(COMMANDS["import torch"]))
            runs.append(first_step(Path(tmp), task))
    phases = {name: round(statistics.median(r[name] for r in runs), 3) for name in runs[0]}
    ratio = statistics.median(r["total"] / t for r, t in zip(runs, torch_times))
    return {"task": task, "import torch": round(statistics.median(torch_times), 3), "phases_median_seconds": phases,
            "ratio_to_import_torch": round(ratio, 3), "target": FIRST_STEP_TARGET, "met": ratio <= FIRST_STEP_TARGET}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-first-step", action="store_true", help="only the listing commands")
    parser.add_argument("--task", default="vision", help="the task whose first step is timed")
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
    if not args.no_first_step:
        import os

        result["time_to_first_step"] = first_step_report(args.repeats, args.task)
        result["load_average"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
