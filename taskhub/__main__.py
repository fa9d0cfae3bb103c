"""``python -m taskhub`` (what torchrun runs: ``torchrun --nproc_per_node=2 -m taskhub run ...``).

``python -m`` puts the working directory first on ``sys.path``; the ``taskhub`` console script
does not. Dropping it before anything looks for plugins keeps both the same: a ``*.dist-info``
or a module lying in the current directory is never imported as a plugin.
"""
import os
import sys


def _drop_working_directory() -> None:
    first = sys.path[0] if sys.path else None
    if first is not None and (first in ("", ".") or os.path.realpath(first) == os.path.realpath(os.getcwd())):
        del sys.path[0]


_drop_working_directory()

from taskhub.cli import main  # noqa: E402  (after the sys.path fix, on purpose)

sys.exit(main())
