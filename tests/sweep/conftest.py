"""Tiny vision trials for sweep tests: 300 images of 16x16, an MLP, two epochs (a few seconds each)."""
from __future__ import annotations

import pytest

TINY = ["dataset.num_samples=300", "dataset.size=16", "model=mlp", "trainer.max_epochs=2",
        "trainer.device=cpu", "trainer.progress=none"]


@pytest.fixture
def tiny() -> list[str]:
    return list(TINY)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (Debian's postgresql package; see pg_server.py)."""
    from pg_server import Server, find_bin

    if find_bin() is None:
        pytest.skip("no PostgreSQL server binary (/usr/lib/postgresql/*/bin): apt-get install postgresql")
    pytest.importorskip("psycopg", reason="psycopg is in the dev extra: pip install -e '.[dev]'")
    with Server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres, request) -> str:
    """A fresh database on the session's server, as a plain postgresql:// URL."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    return postgres.create_database(name)
