"""The end-of-sweep table: every run of a sweep directory sorted by the task's objective.

Read from the run directories (``.hydra/overrides.yaml``, ``summary.json``, ``error.txt``), not
from the jobs' return values, so it works with any launcher, for grid and Optuna sweeps alike,
and ``taskhub sweep report`` can rebuild it later.
"""
from __future__ import annotations

import csv
import json
import logging
import math
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("taskhub")

#: Overrides that identify the plumbing of a run rather than what was swept.
_HIDDEN = ("sweep.trial", "sweep.study_name", "sweep.storage", "trainer.num_threads", "hydra.")
_COLUMNS = ("rank", "run", "status", "value", "epochs", "fit_seconds")


def _overrides(run_dir: Path) -> dict[str, str]:
    path = run_dir / ".hydra" / "overrides.yaml"
    try:
        items = yaml.safe_load(path.read_text()) or []
    except (OSError, yaml.YAMLError):
        return {}
    pairs = (str(item).partition("=") for item in items)
    return {key.lstrip("+~"): value for key, _, value in pairs if not key.lstrip("+~").startswith(_HIDDEN)}


def collect(sweep_dir: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The runs below ``sweep_dir`` as rows (best first), and the objective ({name, mode})."""
    runs: list[dict[str, Any]] = []
    objective: dict[str, str] = {}
    for run_dir in sorted(sweep_dir.iterdir(), key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name)):
        if not run_dir.is_dir() or not (run_dir / ".hydra").is_dir():
            continue
        summary: dict[str, Any] = {}
        if (run_dir / "summary.json").is_file():
            summary = json.loads((run_dir / "summary.json").read_text())
        error = (run_dir / "error.txt").read_text().strip().splitlines()[:1] if (run_dir / "error.txt").is_file() else []
        objective = objective or {k: summary["objective"][k] for k in ("name", "mode")} if summary.get("objective") else objective
        value = (summary.get("objective") or {}).get("value")
        status = ("pruned" if summary.get("sweep", {}).get("pruned") else "ok") if summary else \
            ("failed" if error else "incomplete")
        runs.append({"run": run_dir.name, "status": status,
                     "value": value if isinstance(value, (int, float)) and not math.isnan(value) else None,
                     "epochs": summary.get("epochs"), "fit_seconds": summary.get("fit_seconds"),
                     "overrides": _overrides(run_dir), "error": error[0] if error else None,
                     "run_dir": str(run_dir)})
    maximize = objective.get("mode", "max") == "max"
    runs.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0.0) if maximize else (r["value"] or 0.0)))
    for rank, row in enumerate(runs, start=1):
        row["rank"] = rank if row["value"] is not None else None
    return runs, objective


def varying(runs: list[dict[str, Any]]) -> list[str]:
    """The override keys whose values differ between runs: the swept parameters."""
    keys = sorted({k for r in runs for k in r["overrides"]})
    return [k for k in keys if len({r["overrides"].get(k) for r in runs}) > 1]


def summarize(sweep_dir: Path, show: bool = True) -> dict[str, Any] | None:
    """Write ``sweep_summary.csv`` and ``sweep_summary.json`` in ``sweep_dir`` and print the table."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        return None
    runs, objective = collect(sweep_dir)
    if not runs:
        return None
    params = varying(runs)
    result = {"sweep_dir": str(sweep_dir), "objective": objective,
              "best": runs[0] if runs[0]["value"] is not None else None, "params": params, "runs": runs}
    (sweep_dir / "sweep_summary.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    with open(sweep_dir / "sweep_summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*_COLUMNS, *params, "error"])
        for r in runs:
            writer.writerow([*(r[c] for c in _COLUMNS), *(r["overrides"].get(p, "") for p in params), r["error"] or ""])
    if show:
        print_table(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    objective, params = result["objective"], result["params"]
    title = f"sweep {result['sweep_dir']}: {len(result['runs'])} runs, " \
            f"{objective.get('name', 'objective')} ({objective.get('mode', '?')})"
    table = Table(title=title)
    for column in (*_COLUMNS, *params):
        table.add_column(column, justify="right" if column in ("rank", "value", "epochs", "fit_seconds") else "left")
    for r in result["runs"]:
        value = f"{r['value']:.4f}" if r["value"] is not None else (r["error"] or "")[:60]
        table.add_row(str(r["rank"] or ""), r["run"], r["status"], value, str(r["epochs"] or ""),
                      str(r["fit_seconds"] or ""), *(r["overrides"].get(p, "") for p in params))
    Console().print(table)
