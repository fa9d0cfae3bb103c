"""Writes ``manifest.json`` (what produced the run: versions, device, git, seed, data fingerprints)
at the start of a fit and updates it when the run ends; the checkpoints carry it too.

Runs first at the start (``tryfirst``) so that loggers can tag their runs with it, and last at
the end, after every other ``on_fit_end``.
"""
from __future__ import annotations

import logging
from typing import Any

from taskhub.hookspecs import hookimpl
from taskhub.run_state import Run
from taskhub.tracking import manifest

log = logging.getLogger("taskhub")


@hookimpl(tryfirst=True)
def on_fit_start(run: Run) -> None:
    if not run.is_main:
        return
    record = manifest.build(run)
    run.state[manifest.STATE_KEY] = record
    manifest.write(run.dir, record)
    data = record.get("data") or {}
    seconds = sum(fp.get("seconds", 0.0) for fp in data.values())
    log.debug("data fingerprint: %s (%.2fs)", {k: v["sha256"][:12] for k, v in data.items()}, seconds)


@hookimpl(trylast=True)
def on_fit_end(run: Run, summary: dict[str, Any]) -> None:
    manifest.finish(run, "finished")


@hookimpl
def on_fit_error(run: Run, error: BaseException) -> None:
    # Ctrl-C, or SIGTERM's preemption exit (SystemExit 75), leaves a run that trainer.resume=auto continues.
    manifest.finish(run, "stopped" if isinstance(error, (KeyboardInterrupt, SystemExit)) else "failed", error)
