"""User errors: one typed exception, printed as one line by the CLI (tracebacks are for bugs)."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A mistake the user can fix (bad config, missing file, corrupt input).

    The CLI prints its message as one line, with no traceback. Say what is wrong,
    name the file or setting, and say what to do.
    """


class MissingExtra(UserError):
    """An optional library a feature needs is not installed (``taskhub.require_extra`` raises it):
    a fix by installing, so test suites may skip the feature instead of failing."""


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


def user_message(exc: BaseException) -> str | None:
    """One line for errors the user caused (ours, Hydra's composition errors, OmegaConf's), else None."""
    from hydra.errors import HydraException, InstantiationException
    from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

    if isinstance(exc, UserError):
        text = str(exc)
        if text.startswith("Caught UserError in DataLoader worker"):  # re-raised with the worker's traceback
            text = text.strip().splitlines()[-1].split("UserError: ", 1)[-1]
        return text
    cause = exc
    while cause.__cause__ is not None and isinstance(cause, InstantiationException):
        cause = cause.__cause__
    if isinstance(cause, UserError):
        return str(cause)
    if isinstance(exc, MissingMandatoryValue) or isinstance(exc.__cause__, MissingMandatoryValue):
        err = exc if isinstance(exc, MissingMandatoryValue) else exc.__cause__
        key = getattr(err, "full_key", "") or "a value"
        return f"{key} must be set: pass {key}=..."
    if isinstance(exc, InstantiationException):
        # A setting the class does not take (+model.foo=1) or a value of the wrong type (optimizer.lr=abc)
        # is the user's; anything else raised while building is a bug in the class: keep the traceback.
        if cause is not exc and isinstance(cause, (TypeError, ValueError)):
            key = next((line.split(":", 1)[1].strip() for line in str(exc).splitlines()
                        if line.startswith("full_key:")), "the config")
            return f"cannot build {key} from its settings: {cause} (see them with --cfg job; --debug shows the traceback)"
        return None
    if isinstance(exc, (HydraException, OmegaConfBaseException)):
        lines = [str(exc).strip()]
        if exc.__cause__ is not None:
            lines.append(str(exc.__cause__).strip())
        text = " ".join(" ".join(line.split()) for line in lines if line)
        return text.replace("Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace.", "").strip()
    return None
