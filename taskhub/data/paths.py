"""Path checks that fail with one clear line naming the path and what to do."""
from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from pathlib import Path

from taskhub.errors import UserError


def require_dir(path: str | Path | None, setting: str = "dataset.root", hint: str = "") -> Path:
    """The directory ``path``, or a UserError naming ``setting`` when it is unset or absent."""
    if path is None or str(path) == "":
        raise UserError(f"{setting} is not set: pass {setting}=/path/to/data{hint}")
    p = Path(path).expanduser()
    if not p.is_dir():
        raise UserError(f"{setting}={path}: no such directory{hint}")
    return p


def require_file(path: str | Path, what: str = "file", hint: str = "") -> Path:
    """The file ``path``, or a UserError naming it."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"{what} not found: {path}{hint}")
    return p


def expand_paths(inputs: Iterable[str | Path], suffixes: Sequence[str]) -> list[Path]:
    """Files named by ``inputs``: plain files, glob patterns, and directories (searched recursively
    for ``suffixes``, sorted). A name that matches nothing is an error, not silently skipped."""
    suffixes = tuple(s.lower() for s in suffixes)
    found: list[Path] = []
    for item in inputs:
        p = Path(str(item)).expanduser()
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in suffixes)
            if not files:
                raise UserError(f"{p}: no {'/'.join(suffixes)} files in this directory")
            found.extend(files)
        elif p.is_file():
            found.append(p)
        else:
            matches = sorted(Path(m) for m in glob.glob(str(p)) if Path(m).is_file())
            if not matches:
                raise UserError(f"input not found: {item}")
            found.extend(matches)
    return found
