"""The data check: ``taskhub data check`` (through ``register_commands``), and the same check at
the start of every run (cached by the data fingerprint), whose summary goes into summary.json's ``data``."""
from __future__ import annotations

import argparse
import logging
from typing import Any

from taskhub.hookspecs import hookimpl
from taskhub.run_state import Run

log = logging.getLogger("taskhub")
STATE_KEY = "_data_check"


@hookimpl
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    from taskhub.datacheck.command import register

    register(subparsers)


@hookimpl
def on_fit_start(run: Run) -> None:  # after the manifest (tryfirst), whose data fingerprint it reuses
    if not run.is_main or run.data is None:
        return
    from taskhub.datacheck.core import check_at_run_start

    try:
        run.state[STATE_KEY] = check_at_run_start(run).summary
    except Exception:  # the check must never stop a run that would train
        log.warning("the data check failed; the run goes on", exc_info=True)


@hookimpl
def on_fit_end(run: Run, summary: dict[str, Any]) -> None:
    if run.state.get(STATE_KEY) is not None:
        summary["data"] = run.state[STATE_KEY]
