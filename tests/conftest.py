"""Shared fixtures: every test runs on the CPU with few threads, in its own temporary folder."""
from __future__ import annotations

import os

import pytest
import torch

# Two cores are shared by the whole suite: one intra-op thread per test process keeps runs predictable.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    """Runs write runs/ and outputs/ relative to the cwd: keep them out of the checkout."""
    monkeypatch.chdir(tmp_path)
    yield
