"""A tiny trained checkpoint of every built-in task, trained once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from export_helpers import TINY


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """``trained(task)`` -> the run directory of a tiny run of ``task`` (trained once per session)."""
    from taskhub.testing import run_task

    runs: dict[str, Path] = {}

    def get(task: str) -> Path:
        if task not in runs:
            run_dir = tmp_path_factory.mktemp(f"run_{task}")
            run_task(task, run_dir, "trainer.num_threads=1", *TINY[task])
            runs[task] = run_dir
        return runs[task]

    return get
