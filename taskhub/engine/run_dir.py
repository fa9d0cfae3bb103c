"""The run directory as a resource: one run at a time (a lock file), and one line when it cannot be written.

The lock is ``<run dir>/.taskhub.lock`` holding the owner's pid and host. A second run in the
same directory stops with one line naming the holder; a lock left by a process that no longer
exists on this host is taken over. Locks are re-entrant within one process (the launcher takes
the lock before Hydra writes ``.hydra/``, the job takes it again).
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

from taskhub.errors import UserError

log = logging.getLogger("taskhub")

LOCK_NAME = ".taskhub.lock"
_held: dict[Path, int] = {}  # lock path -> how many times this process holds it


def write_error(exc: OSError, path: str | Path, what: str = "write") -> UserError:
    """One line for an OSError while writing ``path``: a full disk says so and names the path."""
    where = Path(exc.filename) if getattr(exc, "filename", None) else Path(path)
    if exc.errno == errno.ENOSPC:
        free = _free_mib(where)
        return UserError(f"cannot {what} {where}: the disk is full ({free}); free some space or choose "
                         f"another hydra.run.dir")
    if exc.errno == errno.EROFS:
        return UserError(f"cannot {what} {where}: the file system is read-only; choose another hydra.run.dir")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) or _under_a_file(where):
        return UserError(f"cannot {what} {where}: {_first_file(where) or where} is a file, not a directory; "
                         f"choose another hydra.run.dir")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return UserError(f"cannot {what} {where}: permission denied; choose a hydra.run.dir you can write")
    return UserError(f"cannot {what} {where}: {exc.strerror or exc}")


def _free_mib(path: Path) -> str:
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return f"{shutil.disk_usage(candidate).free / 2**20:.0f} MiB free there"
            except OSError:
                break
    return "no space left"


def _first_file(path: Path) -> Path | None:
    for candidate in reversed((path, *path.parents)):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def _under_a_file(path: Path) -> bool:
    found = _first_file(path)
    return found is not None and found != path


def make(path: Path) -> Path:
    """Create the run directory (and parents), or fail in one line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, path, "create the run directory") from None
    if not path.is_dir():
        raise UserError(f"cannot use {path} as the run directory: it is a file; choose another hydra.run.dir")
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(run_dir: Path) -> Path:
    """Take ``run_dir``'s lock (creating the directory); one line naming the holder if it is taken."""
    run_dir = make(Path(run_dir)).resolve()
    lock = run_dir / LOCK_NAME
    if lock in _held:
        _held[lock] += 1
        return lock
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read(lock)
            same_host = holder.get("host") == me["host"]
            pid = holder.get("pid")
            stale = same_host and isinstance(pid, int) and (pid == me["pid"] or not _alive(pid))
            if not stale:
                who = f"pid {pid} on {holder.get('host', '?')}" if pid else "another run"
                hint = "" if same_host else " (if that run is gone, delete the lock file)"
                raise UserError(f"run directory {run_dir} is in use by {who} (lock file {lock}){hint}; "
                                f"wait for it to finish or choose another hydra.run.dir") from None
            log.info("taking over %s left by pid %s, which no longer runs", lock, pid)
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            continue
        except OSError as exc:
            raise write_error(exc, lock, "lock the run directory with") from None
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        _held[lock] = 1
        return lock
    raise UserError(f"run directory {run_dir}: could not take its lock file {lock}; another run took it first")


def release(lock: Path) -> None:
    count = _held.get(lock, 0) - 1
    if count > 0:
        _held[lock] = count
        return
    _held.pop(lock, None)
    with contextlib.suppress(OSError):
        if _read(lock).get("pid") == os.getpid():
            lock.unlink()


@contextlib.contextmanager
def locked(run_dir: Path, enabled: bool = True) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the block (``enabled=False``: nothing, e.g. non-zero ranks)."""
    if not enabled:
        yield
        return
    lock = acquire(run_dir)
    try:
        yield
    finally:
        release(lock)


def _read(lock: Path) -> dict:
    try:
        data = json.loads(lock.read_text() or "{}")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def remove_stale_temporaries(checkpoint_dir: Path) -> list[Path]:
    """Delete ``.X.tmp`` files a killed run left in ``checkpoint_dir`` (call it holding the lock)."""
    removed = []
    if checkpoint_dir.is_dir():
        for tmp in checkpoint_dir.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    if removed:
        log.info("removed %d unfinished checkpoint file(s) a killed run left in %s", len(removed), checkpoint_dir)
    return removed
