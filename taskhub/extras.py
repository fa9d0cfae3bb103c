"""Optional libraries: the core install holds what every task's default run needs; what only some
features need (Hugging Face models, Optuna, parquet, sentencepiece, trackers, export and serving)
is a named extra of ``taskhub-dl``, imported when the feature is used. A missing one is one line:
the feature, the package and the extra that installs it.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from taskhub.errors import MissingExtra


def require_extra(module: str, extra: str, what: str, package: str | None = None,
                  instead: str | None = None, distribution: str = "taskhub-dl") -> ModuleType:
    """Import ``module`` for ``what`` (the setting or command that needs it, e.g. ``model=transformer``),
    or raise a one-line :class:`~taskhub.errors.MissingExtra` (a ``UserError``) naming the extra:
    ``model=transformer needs transformers: pip install 'taskhub-dl[hf]'``.

    ``package``: the distribution's name when it is not the module's (``flashlight-text``);
    ``instead``: a setting that needs no extra, added as ``(or use ...)``; ``distribution``: whose
    extra it is (a third-party plugin names its own).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        name = package or module.split(".")[0].replace("_", "-")  # python_multipart -> python-multipart
        missing = isinstance(exc, ModuleNotFoundError) and exc.name is not None \
            and (module == exc.name or module.startswith(exc.name + "."))
        state = "" if missing else f", which is installed but does not import ({_first_line(exc)}); reinstall it"
        alternative = f" (or use {instead})" if instead else ""
        raise MissingExtra(f"{what} needs {name}{state}: pip install '{distribution}[{extra}]'{alternative}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:150] if text else type(exc).__name__
