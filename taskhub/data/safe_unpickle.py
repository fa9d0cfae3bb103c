"""Read data-only Python pickles (CIFAR's batches and the like) without running their code.

A pickle can name any importable callable and have it called on load (``__reduce__``). Some
public datasets ship as pickles anyway, so loaders read them with :class:`SafeUnpickler`, which
admits only builtin containers, strings and numbers, and numpy array reconstruction; anything
else is refused in one line naming the file.
"""
from __future__ import annotations

import _compat_pickle
import importlib
import io
import pickle
from pathlib import Path
from typing import Any

from taskhub.errors import UserError

#: (module, name) pairs a data pickle may reference. Numpy's internals moved from numpy.core to
#: numpy._core in numpy 2; pickles written by either name them by their module at the time.
ALLOWED: frozenset[tuple[str, str]] = frozenset({
    *(("builtins", name) for name in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray",
                                      "int", "float", "complex", "bool")),
    ("_codecs", "encode"),  # how protocol-2 pickles spell bytes
    *((module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
      for name in ("_reconstruct", "scalar")),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
})


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside :data:`ALLOWED`."""


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in :data:`ALLOWED` (others raise UnpicklingError)."""

    def find_class(self, module: str, name: str) -> Any:
        # Python 2 names (__builtin__.set), mapped as pickle's own find_class maps them.
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) not in ALLOWED:
            raise RefusedGlobal(f"{module}.{name}")
        if module.startswith("numpy.core."):
            try:  # numpy 2 keeps numpy.core only as a deprecated alias of numpy._core
                return getattr(importlib.import_module("numpy._core." + module.split(".", 2)[2]), name)
            except ImportError:
                pass
        return getattr(importlib.import_module(module), name)


def safe_unpickle(data: bytes | str | Path, source: str | Path | None = None, encoding: str = "ASCII") -> Any:
    """The object in a data-only pickle: ``data`` is the pickle's bytes or a path to it; ``source``
    names it in errors (default: the path). ``encoding="bytes"`` reads Python 2 pickles' strings as
    bytes (as CIFAR's need). A pickle that asks for anything but data is a UserError naming it."""
    if isinstance(data, (str, Path)):
        source = source or data
        try:
            data = Path(data).read_bytes()
        except OSError as exc:
            raise UserError(f"{data}: cannot read ({exc.strerror or exc})") from None
    where = source or "pickle"
    try:
        return SafeUnpickler(io.BytesIO(data), encoding=encoding).load()
    except RefusedGlobal as exc:
        raise UserError(f"{where}: refused: the pickle asks for {exc}, which is not data (only builtin containers, "
                        f"strings, numbers and numpy arrays are read); the file may be crafted to run code: "
                        f"get it again from its source") from None
    except Exception as exc:  # truncated or garbled bytes surface as many types
        raise UserError(f"{where}: not a readable pickle ({type(exc).__name__}: {exc}); the file is damaged: "
                        f"get it again") from None
