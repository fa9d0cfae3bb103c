"""The one bad-input policy of every dataset loader: ``on_bad: error | skip``.

``error`` (the default) stops at the first bad file or row with one line naming it and what is
wrong. ``skip`` leaves it out, and the loader ends with one warning that counts what was
skipped, by reason, and names the first few. Nothing bad is ever used silently.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal

from taskhub.errors import UserError

log = logging.getLogger("taskhub")

OnBad = Literal["error", "skip"]
POLICIES = ("error", "skip")
#: how many skipped names a warning lists
SHOWN = 3


class BadInputs:
    """Collects bad inputs under ``policy``: raises on the first (``error``) or records them (``skip``)."""

    def __init__(self, policy: str = "error", setting: str = "dataset.on_bad") -> None:
        if policy not in POLICIES:
            raise UserError(f"{setting}={policy}: choose one of {', '.join(POLICIES)}")
        self.policy, self.setting = policy, setting
        self.skipped: dict[str, list[str]] = {}

    def report(self, where: str, problem: str) -> None:
        """``where`` (a file, ``file:line``, a row) is bad because of ``problem``."""
        if self.policy == "error":
            raise UserError(f"{where}: {problem} (fix it, or pass {self.setting}=skip to leave such inputs out)")
        self.skipped.setdefault(problem, []).append(where)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.skipped.values())

    def warn(self, what: str = "inputs") -> None:
        """One warning for everything skipped (nothing when nothing was)."""
        if not self.count:
            return
        parts = [f"{problem} ({len(items)})" for problem, items in self.skipped.items()]
        names = [n for items in self.skipped.values() for n in items][:SHOWN]
        more = ", ..." if self.count > SHOWN else ""
        log.warning("skipped %d %s with %s=skip: %s; first: %s%s", self.count, what, self.setting, "; ".join(parts),
                    ", ".join(names), more)

    def merge(self, other: Iterable[tuple[str, list[str]]]) -> None:
        for problem, items in other:
            self.skipped.setdefault(problem, []).extend(items)
