"""A time budget for training: ``trainer.time_limit=10m`` stops a run within its budget.

The clock is read at optimizer-step boundaries. A step is taken only when it and the validation
pass that ends the epoch still fit; validation (and the checkpoint writes after it) is timed at
every epoch end, and guessed from the step time before the first one. From the same measurements
the budget estimates how many optimizer steps the run will take in all, which is the length the
learning-rate schedule is stretched (or shrunk) to. The time spent is kept in ``run.state``, so a
resumed run goes on counting from where it stopped. The final test pass is not part of the budget.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field

from taskhub.errors import UserError

log = logging.getLogger("taskhub")

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)([smhd]))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
#: the key under ``run.state`` (saved in checkpoints) holding the seconds already spent training.
STATE_KEY = "time_used_seconds"
#: ... and the measured seconds per training batch and per validation pass, which a resumed
#: process starts from (its first step is then judged like any other).
ESTIMATES_KEY = "time_estimates"


def parse_duration(value: object, setting: str = "trainer.time_limit") -> float | None:
    """Seconds in ``value``: a number of seconds, or ``90s``, ``10m``, ``1h``, ``1h30m``; None: no limit."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null", "none")):
        return None
    if isinstance(value, bool):
        raise UserError(f"{setting}={value}: give a duration such as 90s, 10m, 1h30m or a number of seconds")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            if not _DURATION.match(text):
                raise UserError(f"{setting}={value}: not a duration; write it as 90s, 10m, 1h, 1h30m "
                                "or a number of seconds") from None
            seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))
    if not math.isfinite(seconds) or seconds <= 0:
        raise UserError(f"{setting}={value}: the time limit must be more than 0 seconds")
    return seconds


@dataclass
class TimeBudget:
    """The clock of one fit. ``limit`` None: no budget, only the time used is recorded.

    ``spent`` is the time used by earlier processes of the same run (resume); the clock is
    ``spent`` plus the time since :meth:`start`.
    """

    limit: float | None
    spent: float = 0.0
    batches_per_epoch: int = 1
    accumulate: int = 1
    val_guess_batches: float = 0.0  # validation's size in training batches, for the guess before it is timed
    # The clock's readings (not settings):
    _started: float = field(default=0.0, init=False, repr=False)
    _mark: float = field(default=0.0, init=False, repr=False)
    _batch_seconds: float = field(default=0.0, init=False)  # mean seconds per training batch, loading included
    _batches_timed: int = field(default=0, init=False)
    _last_batch: int = field(default=0, init=False, repr=False)
    _val_seconds: float | None = field(default=None, init=False)

    def start(self) -> None:
        self._started = self._mark = time.perf_counter()

    def used(self) -> float:
        return self.spent + time.perf_counter() - self._started

    def remaining(self) -> float:
        return math.inf if self.limit is None else self.limit - self.used()

    # --- measurements ---------------------------------------------------------------------
    def batch_done(self, batch: int) -> None:
        """Training batch number ``batch`` of the epoch ended: update the mean batch time."""
        now = time.perf_counter()
        seconds, self._mark = now - self._mark, now
        # At most one optimizer step's batches: after a mid-epoch resume the batches replayed up to
        # ``batch`` were not trained (their time counts, as the first step's: an overestimate is safe).
        batches, self._last_batch = max(1, min(batch - self._last_batch, self.accumulate)), batch
        total = self._batch_seconds * self._batches_timed + seconds
        self._batches_timed += batches
        self._batch_seconds = total / self._batches_timed

    def epoch_end_started(self) -> None:
        self._mark = time.perf_counter()

    def epoch_end_done(self) -> None:
        """Validation and checkpoints are over: time them (the estimate for the next epoch ends)."""
        now = time.perf_counter()
        self._val_seconds, self._mark = now - self._mark, now

    def epoch_started(self) -> None:
        self._mark, self._last_batch = time.perf_counter(), 0

    @property
    def val_seconds(self) -> float:
        if self._val_seconds is not None:
            return self._val_seconds
        # Not timed yet: a forward pass costs about a third of a training step.
        return self._batch_seconds * self.val_guess_batches / 3

    @property
    def measured(self) -> bool:
        return self._batches_timed > 0

    def estimates(self) -> dict[str, float | None]:
        return {"batch_seconds": self._batch_seconds if self.measured else None, "val_seconds": self._val_seconds}

    def seed(self, estimates: dict[str, float | None] | None) -> None:
        """Start from an earlier process's measurements (weighted as one batch: new ones soon dominate)."""
        estimates = estimates or {}
        if estimates.get("batch_seconds") is not None and not self.measured:
            self._batch_seconds, self._batches_timed = float(estimates["batch_seconds"]), 1
        if estimates.get("val_seconds") is not None and self._val_seconds is None:
            self._val_seconds = float(estimates["val_seconds"])

    # --- decisions ------------------------------------------------------------------------
    def fits(self, batches: int = 1) -> bool:
        """Whether ``batches`` more training batches and the epoch's validation fit in the budget."""
        if self.limit is None:
            return True
        return self.used() + batches * self._batch_seconds + self.val_seconds <= self.limit

    def future_batches(self, left_in_epoch: int, epochs_after: int) -> int:
        """How many more training batches fit: the rest of this epoch, then whole or partial epochs
        (at most ``epochs_after`` more), each followed by a validation pass."""
        if self.limit is None or not self.measured:
            return left_in_epoch + epochs_after * self.batches_per_epoch
        per_batch, per_val = max(self._batch_seconds, 1e-9), self.val_seconds
        room = self.remaining()

        def fitting(room: float) -> int:  # batches that fit before one validation pass
            return int(max(0.0, room - per_val) // per_batch)

        if fitting(room) < left_in_epoch:
            return fitting(room)
        room -= left_in_epoch * per_batch + per_val
        per_epoch = self.batches_per_epoch * per_batch + per_val
        whole = min(epochs_after, int(max(0.0, room) // per_epoch))
        batches = left_in_epoch + whole * self.batches_per_epoch
        if whole < epochs_after:  # and a part of one more epoch
            batches += min(self.batches_per_epoch, fitting(room - whole * per_epoch))
        return batches

    def describe(self) -> str:
        used = self.used()
        return f"{used:.0f}s of {self.limit:.0f}s" if self.limit is not None else f"{used:.0f}s"
