"""Throughput of parallel trials: one Optuna study of 8 short vision trials run by 1 worker, then
by 2 workers sharing it through PostgreSQL.

Each worker is a plain ``taskhub run -m task=vision sweep=optuna sweep.storage=postgresql://...``
process with one thread (``trainer.num_threads=1``, ``OMP_NUM_THREADS=1``), so two workers use the
two cores without oversubscribing them. The server is a real PostgreSQL started for the run
(Debian's ``postgresql`` package, as the tests start it: ``tests/sweep/pg_server.py``). Reported:
wall-clock seconds from the first launch to the last exit (median of the repeats, interleaved
1-worker / 2-worker), the ratio 2 workers / 1 worker, trials per minute, and the best
``val/accuracy`` of each study (a random sampler over one log-uniform range; every worker of a shared
study draws with its own seed, so "within noise" is judged against the spread over repeats).
Usage: python bench/parallel_sweep.py [--repeats 3] [--trials 8] [overrides...]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIAL = ["task=vision", "model=mlp", "dataset.num_samples=600", "dataset.size=16", "trainer.max_epochs=3",
         "trainer.device=cpu", "trainer.progress=none", "trainer.num_threads=1", "sweep=optuna",
         "sweep.sampler=random", "sweep.pruner=none", "optimizer.lr=tag(log, interval(1e-4, 1e-1))"]


def sweep(url: str, study: str, workers: int, trials: int, folder: Path, extra: list[str]) -> float:
    """Wall-clock seconds for ``workers`` processes to finish one ``trials``-trial study."""
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "taskhub", "run", "-m", *TRIAL, f"sweep.n_trials={trials}",
                               f"sweep.storage={url}", f"sweep.study_name={study}",
                               f"hydra.sweep.dir={folder / study / str(i)}", *extra],
                              cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
             for i in range(workers)]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"a worker of {study} failed: exit codes {codes}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "sweep"))
    import optuna
    from pg_server import Server

    from taskhub_sweep.study import normalize_url

    seconds: dict[int, list[float]] = {1: [], 2: []}
    best: dict[int, list[float]] = {1: [], 2: []}
    with Server() as pg, tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for workers in (1, 2):
                study = f"w{workers}_r{repeat}"
                url = pg.create_database(study)
                seconds[workers].append(sweep(url, study, workers, args.trials, Path(tmp), args.overrides))
                loaded = optuna.load_study(study_name=study, storage=normalize_url(url))
                finished = [t for t in loaded.trials if t.state == optuna.trial.TrialState.COMPLETE]
                assert len(finished) == args.trials, f"{study}: {len(finished)} trials, not {args.trials}"
                best[workers].append(loaded.best_value)
                print(f"repeat {repeat}: {workers} worker(s): {seconds[workers][-1]:.1f} s, "
                      f"best val/accuracy {loaded.best_value:.4f}", flush=True)
    base = statistics.median(seconds[1])
    print("\n| workers | median seconds | trials / minute | ratio to 1 worker | best val/accuracy (median, range) |")
    print("|---:|---:|---:|---:|---|")
    for workers in (1, 2):
        med = statistics.median(seconds[workers])
        print(f"| {workers} | {med:.1f} | {args.trials / med * 60:.2f} | {med / base:.2f} | "
              f"{statistics.median(best[workers]):.4f} ({min(best[workers]):.4f}-{max(best[workers]):.4f}) |")


if __name__ == "__main__":
    main()
