"""Optional libraries of the ``serve`` extra: a missing one is one line naming the extra."""
from __future__ import annotations

from types import ModuleType

from taskhub.extras import require_extra

EXTRA = "serve"


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise a one-line UserError saying which extra installs it."""
    return require_extra(module, EXTRA, purpose)
