"""Optional libraries of the ``serve`` extra: a missing one is one line naming the extra."""
from __future__ import annotations

import importlib
from types import ModuleType

from taskhub.errors import UserError

EXTRA = "serve"


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise a one-line UserError saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0].replace("_", "-")  # python_multipart -> python-multipart
        raise UserError(f"{purpose} needs {package}: pip install 'taskhub-dl[{EXTRA}]'") from None
