"""Real corpora from ../shared/data (skipped when absent): short runs that must clearly learn."""
from __future__ import annotations

import pytest

from taskhub.testing import run_task, shared_data

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def _root(name: str):
    root = shared_data(name)
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    return root


def test_sst2_bag_of_embeddings_learns(tmp_path):
    summary = run_task("text", tmp_path / "run", "dataset=sst2", f"dataset.root={_root('sst2')}", "model=mlp",
                       "optimizer.lr=0.005", "trainer.max_epochs=2", "trainer.num_threads=1")
    assert summary["test/accuracy"] > 0.75  # the full benchmark (bench/text_sst2.py) reaches 0.82


def test_sms_spam_learns(tmp_path):
    summary = run_task("text", tmp_path / "run", "dataset=sms_spam", f"dataset.root={_root('sms_spam')}", "model=mlp",
                       "optimizer.lr=0.005", "trainer.max_epochs=3", "trainer.num_threads=1")
    assert summary["test/accuracy"] > 0.95
