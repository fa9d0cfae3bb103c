"""The ``taskhub runs`` verb: ``taskhub runs [DIR...] [--sort KEY] [--task NAME] [--json|--csv]``
and ``taskhub runs diff A B``. Registered by the built-in plugin ``taskhub.builtins.runs_command``."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from taskhub.errors import UserError
from taskhub.tracking import runs as runs_mod
from taskhub.tracking.diff import diff


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "runs", help="a table of runs: taskhub runs [DIR...] [--sort KEY] [--task NAME] [--json|--csv]; "
                     "taskhub runs diff A B",
        description="List the runs under DIRs (default: runs/ and multiruns/), or compare two: "
                    "taskhub runs diff RUN_A RUN_B.")
    parser.add_argument("dirs", nargs="*", metavar="DIR", help="folders holding runs, or run directories")
    parser.add_argument("--sort", metavar="KEY", help="a metric (test/accuracy: best first), started, epochs, "
                                                       "train_seconds, objective, task...")
    parser.add_argument("--reverse", action="store_true", help="reverse the order")
    parser.add_argument("--task", metavar="NAME", help="only runs of this task")
    parser.add_argument("--status", choices=("finished", "running", "stopped", "failed"), help="only runs in this state")
    parser.add_argument("--eval", action="store_true", help="also list taskhub eval runs")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON instead of a table")
    out.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.dirs[:1] == ["diff"]:
        if len(args.dirs) != 3:
            raise UserError("taskhub runs diff needs two run directories: taskhub runs diff RUN_A RUN_B")
        return show_diff(_run_dir(args.dirs[1]), _run_dir(args.dirs[2]), as_json=args.json)
    dirs = [Path(d).expanduser() for d in args.dirs] or [Path(d) for d in runs_mod.DEFAULT_DIRS]
    missing = [str(d) for d in dirs if not d.is_dir()]
    if args.dirs and missing:
        raise UserError(f"no such folder: {', '.join(missing)}")
    records = runs_mod.collect(dirs, task=args.task, include_eval=args.eval)
    if args.status:
        records = [r for r in records if r["status"] == args.status]
    if args.sort:
        known = {k for r in records for k in (*r, *r["metrics"])} - {"metrics"}
        if records and args.sort not in known:
            from taskhub.errors import did_you_mean

            raise UserError(f"--sort {args.sort}: no run has it{did_you_mean(args.sort, known)}; "
                            f"try one of: {', '.join(sorted(known))}")
    records = runs_mod.sort_records(records, args.sort, args.reverse)
    if args.json:
        print(json.dumps(records, indent=2, default=str))
    elif args.csv:
        write_csv(records, sys.stdout)
    else:
        print_table(records, dirs)
    return 0


def _run_dir(text: str) -> Path:
    path = Path(text).expanduser()
    if path.is_file():
        path = path.parent
    if not path.is_dir() or not runs_mod.is_run_dir(path):
        raise UserError(f"{text}: not a run directory (no summary.json, manifest.json or .hydra/config.yaml)")
    return path


def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    value = float(value)
    if value < 60:
        return f"{value:.1f}s"
    if value < 3600:
        return f"{int(value // 60)}m{int(value % 60):02d}s"
    return f"{int(value // 3600)}h{int(value % 3600 // 60):02d}m"


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _short_path(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


STATUS_STYLE = {"finished": "green", "running": "cyan", "stopped": "yellow", "failed": "red"}


def _console() -> Any:
    """Rich's console; piped output gets wide lines rather than 80 squeezed columns."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=240)


def print_table(records: list[dict[str, Any]], dirs: list[Path]) -> None:
    from rich.table import Table

    console = _console()
    if not records:
        console.print(f"no runs under {', '.join(str(d) for d in dirs)}")
        return
    metrics = runs_mod.main_metrics(records)
    table = Table(title=f"{len(records)} run{'s' if len(records) != 1 else ''}")
    for column in ("run", "task", "model", "dataset", "date", "epochs", "train time", "objective", *metrics, "status"):
        table.add_column(column, justify="right" if column in ("epochs", "train time", *metrics) else "left")
    for r in records:
        objective = r.get("objective") or {}
        shown = f"{objective.get('name')}={_number(objective.get('value'))}" if objective.get("name") else ""
        epochs = "" if r["epochs"] is None else str(r["epochs"])
        if r.get("max_epochs") not in (None, "auto") and epochs:
            epochs += f"/{r['max_epochs']}"
        date = (r.get("started") or "")[:16].replace("T", " ")
        style = STATUS_STYLE.get(r["status"], "")
        table.add_row(_short_path(r["run"]), r.get("task") or "", r.get("model") or "", r.get("dataset") or "", date,
                      epochs, _seconds(r.get("train_seconds")), shown, *(_number(r["metrics"].get(m)) for m in metrics),
                      f"[{style}]{r['status']}[/{style}]" if style else r["status"])
    console.print(table)


def write_csv(records: list[dict[str, Any]], out: Any) -> None:
    metric_keys = sorted({k for r in records for k in r["metrics"]})
    columns = ["run", "task", "model", "dataset", "mode", "started", "ended", "status", "epochs", "max_epochs",
               "train_seconds", "objective", "objective_value", "seed", "git_commit", "git_dirty", *metric_keys]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for r in records:
        objective = r.get("objective") or {}
        writer.writerow({**r, "objective": objective.get("name"), "objective_value": objective.get("value"),
                         **r["metrics"]})


def show_diff(a: Path, b: Path, as_json: bool = False) -> int:
    result = diff(a, b)
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    from rich.table import Table

    console = _console()
    console.print(f"A: {_short_path(str(a))}\nB: {_short_path(str(b))}")
    if result["manifests"]:
        console.print(f"[yellow]no manifest.json in {' and '.join(result['manifests'])} (a run from before "
                      f"manifests): versions and data cannot be compared[/yellow]")
    for section, title in (("config", "config (resolved values that differ)"),
                           ("versions", "versions that differ"), ("data", "data fingerprints that differ")):
        rows = result[section]
        if not rows:
            console.print(f"{title}: none")
            continue
        table = Table(title=title, title_justify="left")
        for column in ("key", "A", "B"):
            table.add_column(column, overflow="fold")
        for key, va, vb in rows:
            table.add_row(key, _cell(va), _cell(vb))
        console.print(table)
    table = Table(title="metrics", title_justify="left")
    for column in ("metric", "A", "B", "B - A"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key, va, vb in result["metrics"]:
        delta = vb - va if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
        table.add_row(key, _number(va), _number(vb), "" if delta is None else f"{delta:+.4g}")
    console.print(table)
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return _number(value)
