"""Writes ``report.html`` at the end of every run, and adds ``taskhub report RUN_DIR...``."""
from __future__ import annotations

import argparse
from typing import Any

from taskhub.hookspecs import hookimpl
from taskhub.run_state import Run


@hookimpl(trylast=True)  # after the plots and the other on_fit_end hooks (learning curves, manifest)
def on_fit_end(run: Run, summary: dict[str, Any]) -> None:
    from taskhub.report import build_report

    build_report(run.dir, summary)


@hookimpl
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="(re)build report.html in run directories: taskhub report RUN_DIR...")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from taskhub.report import build_report

    for run_dir in args.run_dirs:
        print(build_report(run_dir))
    return 0
