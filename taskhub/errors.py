"""User errors: one typed exception, printed as one line by the CLI (tracebacks are for bugs)."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A mistake the user can fix (bad config, missing file, corrupt input).

    The CLI prints its message as one line, with no traceback. Say what is wrong,
    name the file or setting, and say what to do.
    """


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_choice(kind: str, name: str, choices: Iterable[str], where: str = "") -> UserError:
    """The error for an unknown name among known choices: lists them and suggests the closest."""
    options = sorted(set(choices))
    place = f" {where}" if where else ""
    listed = ", ".join(options) if options else "none installed"
    return UserError(f"unknown {kind} '{name}'{place}{did_you_mean(name, options)}; choose one of: {listed}")
