"""A real PostgreSQL server for tests and benchmarks: initdb + pg_ctl in a temporary directory.

Debian's ``postgresql`` package puts the server in ``/usr/lib/postgresql/<version>/bin`` (not on
PATH). The server refuses to run as root, so as root it runs as ``nobody``. It listens on a free
127.0.0.1 port with ``trust`` authentication for one user, ``taskhub``; nothing else can reach it.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "taskhub"


def find_bin() -> Path | None:
    """The directory holding initdb/pg_ctl/postgres, or None when no server is installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version, reverse=True)
    found = shutil.which("initdb")
    for path in [*candidates, *([found] if found else [])]:
        bindir = Path(path).parent
        if (bindir / "pg_ctl").is_file() and (bindir / "postgres").is_file():
            return bindir
    return None


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``with Server() as pg: pg.create_database("x") -> URL``; stopped and deleted on exit."""

    def __init__(self, bindir: Path | None = None) -> None:
        found = bindir or find_bin()
        if found is None:
            raise FileNotFoundError("no PostgreSQL server binaries (apt-get install postgresql)")
        self.bindir = found
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="taskhub-pg-"))
        self.data = self.root / "data"
        self.user = "nobody" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        """The maintenance database (``postgres``)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run([str(self.bindir / args[0]), *args[1:]], user=self.user, cwd=self.root,
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, "LC_ALL": "C", "LANG": "C"})
        if result.returncode != 0:
            log = self.root / "server.log"
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr[-2000:]}"
                               + (log.read_text()[-2000:] if log.is_file() else ""))

    def start(self) -> "Server":
        if self.user is not None:
            shutil.chown(self.root, user=self.user)
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-locale",
                  "--no-sync")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=100"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").is_file():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL (plain ``postgresql://``, as a user writes it)."""
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres",
                                     autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> "Server":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
