"""Fixtures for the tracking tests: a private file-hash cache, tiny runs, and a real MLflow
tracking server (``mlflow server`` with a SQLite backend on a free 127.0.0.1 port)."""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tracking_helpers import free_port


@pytest.fixture(autouse=True, scope="session")
def _private_hash_cache(tmp_path_factory):
    """File hashes go to a cache of this session's own (module fixtures run before function ones)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASKHUB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "taskhub-cache"))
        yield


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """The URI of a live MLflow tracking server, stopped after the session."""
    pytest.importorskip("mlflow")
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts")],
        stdout=log, stderr=subprocess.STDOUT, cwd=root)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 400  # a busy machine starts it slowly
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            log.close()
            pytest.fail(f"mlflow server did not start:\n{(root / 'server.log').read_text()[-3000:]}")
        time.sleep(0.5)
    yield uri
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()

