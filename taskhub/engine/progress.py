"""Progress: a rich bar with live metrics on a terminal, plain log lines elsewhere."""
from __future__ import annotations

import logging
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

log = logging.getLogger("taskhub")


def _fmt(row: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


class EpochProgress:
    """Reports training progress; ``mode`` is auto, rich, plain or none."""

    def __init__(self, mode: str = "auto", enabled: bool = True, every: int = 50) -> None:
        mode = mode or "auto"
        if mode == "auto":
            mode = "rich" if sys.stdout.isatty() else "plain"
        self.mode = mode if enabled else "none"
        self.every = max(1, int(every or 50))
        self._bar: Progress | None = None
        self._task_id: Any = None
        self._total = 0

    def __enter__(self) -> EpochProgress:
        if self.mode == "rich":
            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[live]}"),
                console=Console(), transient=False,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def start(self, description: str, total: int) -> None:
        self._total = total
        if self._bar is not None:
            self._task_id = self._bar.add_task(description, total=total, live="")
        elif self.mode == "plain":
            log.info("%s: %d batches", description, total)

    def wants_value(self, step: int) -> bool:
        """Whether to read the loss at this step (reading it syncs with the device)."""
        return self.mode != "none" and (step % self.every == 0 or step == self._total)

    def advance(self, step: int, live: dict[str, float] | None = None) -> None:
        if self._bar is not None:
            self._bar.update(self._task_id, completed=step, **({"live": _fmt(live)} if live else {}))
        elif self.mode == "plain" and live:
            log.info("  step %d/%d  %s", step, self._total, _fmt(live))

    def end(self, row: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.update(self._task_id, completed=self._total, live=_fmt(row))
        elif self.mode == "plain":
            log.info("%s", _fmt(row))
