"""Progress: a live rich display on a terminal, plain log lines elsewhere, nothing when quiet.

On a terminal the bar follows every step, throttled by time (one refresh per ``REFRESH`` seconds,
which is also the only time the loss is read, so the device is not synced every step), and shows
samples/second, the epoch's and the run's ETA, and bars for validation and test passes. Off a
terminal (CI, files) it logs parseable lines every ``log_every_n_steps`` steps, as before.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("taskhub")

#: seconds between two refreshes of the live display
REFRESH = 0.1
_active: contextvars.ContextVar[EpochProgress | None] = contextvars.ContextVar("taskhub_progress", default=None)


def _fmt(row: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "-:--:--"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def active() -> EpochProgress | None:
    """The progress display of the run in this context, if any (evaluation passes draw on it)."""
    return _active.get()


class EpochProgress:
    """Reports training progress; ``mode`` is auto, rich, plain or none."""

    def __init__(self, mode: str = "auto", enabled: bool = True, every: int = 50) -> None:
        mode = mode or "auto"
        if mode == "auto":
            mode = "rich" if sys.stdout.isatty() else "plain"
        self.mode = mode if enabled else "none"
        self.every = max(1, int(every or 50))
        self._bar: Any = None
        self._task_id: Any = None
        self._total = 0
        self._epoch: int | None = None
        self._epochs: int | None = None
        self._started = 0.0
        self._last = 0.0
        self._token: contextvars.Token | None = None

    def __enter__(self) -> EpochProgress:
        if self.mode == "rich":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            from rich.table import Column

            def whole() -> Column:  # numbers are never elided ("363/…"): on a narrow terminal the bar shrinks
                return Column(no_wrap=True, overflow="ignore")

            self._bar = Progress(
                TextColumn("[bold]{task.description}", table_column=whole()), BarColumn(),
                MofNCompleteColumn(table_column=whole()), TimeElapsedColumn(table_column=whole()),
                TextColumn("eta {task.fields[eta]}", table_column=whole()),
                TextColumn("{task.fields[speed]}", table_column=whole()),
                TextColumn("{task.fields[live]}", table_column=whole()), console=Console(), transient=False,
                refresh_per_second=int(1 / REFRESH), auto_refresh=False,
            )
            self._bar.__enter__()
        self._token = _active.set(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._token is not None:
            _active.reset(self._token)
            self._token = None
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    # --- the start header ----------------------------------------------------------------
    def header(self, fields: dict[str, Any]) -> None:
        """One block at the start: device, parameters, split sizes, run directory..."""
        if self.mode == "none":
            return
        text = "  ".join(f"{k}: {v}" for k, v in fields.items())
        if self.mode == "rich":
            from rich.console import Console

            console = self._bar.console if self._bar is not None else Console()
            console.print("[bold]taskhub[/bold]  " + "  ".join(f"[dim]{k}[/dim] {v}" for k, v in fields.items()),
                          highlight=False)
        else:
            log.info("%s", text)

    # --- training epochs -----------------------------------------------------------------
    def start(self, description: str, total: int, epoch: int | None = None, epochs: int | None = None) -> None:
        self._total, self._epoch, self._epochs = total, epoch, epochs
        self._started = self._last = time.perf_counter()
        if self._bar is not None:
            self._task_id = self._bar.add_task(description, total=total, live="", eta=_duration(None), speed="")
            self._bar.refresh()
        elif self.mode == "plain":
            log.info("%s: %d batches", description, total)

    def wants_value(self, step: int) -> bool:
        """Whether to refresh (and so read the loss, which syncs with the device) at this step: on a
        terminal when ``REFRESH`` seconds have passed, in log mode every ``every`` steps; always at the end."""
        if self.mode == "none":
            return False
        if step == self._total:
            return True
        if self.mode == "rich":
            return time.perf_counter() - self._last >= REFRESH
        return step % self.every == 0

    def advance(self, step: int, live: dict[str, float] | None = None, samples: int | None = None) -> None:
        now = time.perf_counter()
        self._last = now
        elapsed = max(now - self._started, 1e-9)
        speed = f"{samples / elapsed:,.0f} samples/s" if samples else f"{step / elapsed:,.1f} it/s"
        per_step = elapsed / max(step, 1)
        epoch_eta = per_step * (self._total - step)
        if self._bar is not None:
            run_eta = ""
            if self._epoch is not None and self._epochs is not None and self._epochs > self._epoch:
                run_eta = f" (run {_duration(epoch_eta + per_step * self._total * (self._epochs - self._epoch))})"
            self._bar.update(self._task_id, completed=step, eta=_duration(epoch_eta) + run_eta, speed=speed,
                             **({"live": _fmt(live)} if live else {}))
            self._bar.refresh()
        elif self.mode == "plain" and live:
            log.info("  step %d/%d  %s  %s  eta %s", step, self._total, _fmt(live), speed, _duration(epoch_eta))

    def end(self, row: dict[str, Any]) -> None:
        if self._bar is not None:
            # The bar stays short; the epoch's row is one line of its own above the live bars.
            self._bar.update(self._task_id, completed=self._total, eta=_duration(0), live="")
            self._bar.console.print("  " + _fmt({k: v for k, v in row.items() if k != "epoch"}), highlight=False)
            self._bar.refresh()
        elif self.mode == "plain":
            log.info("%s", _fmt(row))

    # --- validation and test passes --------------------------------------------------------
    @contextlib.contextmanager
    def evaluating(self, split: str, total: int) -> Iterator[Any]:
        """A bar for one evaluation pass; yields ``tick(step)``, cheap to call every step."""
        if self._bar is None:
            yield lambda step: None
            return
        task_id = self._bar.add_task(f"  {split}", total=total, live="", eta=_duration(None), speed="")
        started = last = time.perf_counter()

        def tick(step: int) -> None:
            nonlocal last
            now = time.perf_counter()
            if now - last < REFRESH and step != total:
                return
            last = now
            per_step = (now - started) / max(step, 1)
            self._bar.update(task_id, completed=step, eta=_duration(per_step * (total - step)),
                             speed=f"{step / max(now - started, 1e-9):,.1f} it/s")
            self._bar.refresh()

        try:
            yield tick
        finally:
            self._bar.update(task_id, completed=total, visible=False)
            self._bar.remove_task(task_id)
            self._bar.refresh()


@contextlib.contextmanager
def evaluation_bar(split: str, total: int) -> Iterator[Any]:
    """``tick(step)`` for an evaluation pass on the active display (a no-op without one)."""
    progress = active()
    if progress is None:
        yield lambda step: None
        return
    with progress.evaluating(split, total) as tick:
        yield tick
