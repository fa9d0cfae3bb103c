"""What every logger plugin shares: whether ``logger=[...]`` selected it, its settings, its
optional import, and the ``logger.<name>.on_error`` policy.

A logger (built in or third party) is a plugin with loop hooks that acts only when its name is
in the run's ``logger`` config group: ``logger=[csv,tensorboard,mlflow]`` composes
``logger.csv``, ``logger.tensorboard`` and ``logger.mlflow``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from taskhub.errors import UserError
from taskhub.extras import require_extra

if TYPE_CHECKING:
    from taskhub.run_state import Run

log = logging.getLogger("taskhub")

EXTRA = "tracking"


def settings(run: Run, name: str) -> dict[str, Any] | None:
    """``logger.<name>`` as a plain dict when the run selected that logger, else None."""
    from omegaconf import OmegaConf

    loggers = run.cfg.get("logger")
    if not loggers or name not in loggers:
        return None
    node = loggers[name]
    value = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
    return dict(value or {})


def require(module: str, logger: str, distribution: str) -> Any:
    """Import ``module`` for ``logger=<logger>``, or one line naming the extra to install."""
    what = f"logger={logger}"
    # The distribution first: torch.utils.tensorboard without tensorboard is an ImportError of its own words.
    require_extra(distribution.replace("-", "_"), EXTRA, what, package=distribution)
    return require_extra(module, EXTRA, what, package=distribution)


def on_error(options: dict[str, Any], name: str) -> str:
    policy = str(options.get("on_error") or "fail")
    if policy not in ("fail", "warn"):
        raise UserError(f"logger.{name}.on_error={policy}: choose fail or warn")
    return policy


class Channel:
    """A logger's connection for one run: calls into the backend, and after the first failure
    during training warns once and stops (the run and its own files go on).

    At the start (``open``), a failure fails the run in one line, or with ``on_error=warn``
    warns once and the run trains without this logger.
    """

    def __init__(self, name: str, policy: str) -> None:
        self.name, self.policy = name, policy
        self.alive = True

    def open(self, connect: Callable[[], Any], what: str) -> Any:
        try:
            return connect()
        except UserError as exc:
            return self._refuse(str(exc))
        except Exception as exc:
            return self._refuse(f"logger.{self.name}: cannot reach {what} ({_first_line(exc)})")

    def _refuse(self, message: str) -> None:
        if self.policy == "fail":
            raise UserError(f"{message}; fix it, or pass logger.{self.name}.on_error=warn to train without it")
        log.warning("%s; training goes on without logger %s (on_error=warn)", message, self.name)
        self.alive = False
        return None

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self.alive:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            self.alive = False
            log.warning("logger %s failed and is off for the rest of this run (the run's own files are "
                        "kept): %s", self.name, _first_line(exc))
            return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    # HTTP clients bury the reason under retries and URLs: say it plainly.
    if "NewConnectionError" in text or "Connection refused" in text:
        return "connection refused: is the server running at that address?"
    if "timed out" in text.lower() or "ReadTimeout" in text:
        return "the connection timed out"
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


def flat_config(cfg: Any) -> dict[str, Any]:
    """The resolved config as ``{"optimizer.lr": 0.001, ...}`` (lists kept whole)."""
    from omegaconf import OmegaConf

    try:
        tree = OmegaConf.to_container(cfg, resolve=True)
    except Exception:
        tree = OmegaConf.to_container(cfg, resolve=False)
    out: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            out[prefix] = node
    walk("", tree)
    return out


def resolved_yaml(cfg: Any) -> str:
    """The run's config as YAML, interpolations resolved where they can be."""
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_yaml(cfg, resolve=True)
    except Exception:
        return OmegaConf.to_yaml(cfg)
