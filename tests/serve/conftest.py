"""Tiny trained vision and text checkpoints (once per session), and an ONNX bundle of the vision one."""
from __future__ import annotations

from pathlib import Path

import pytest

from serve_helpers import TINY

pytest.importorskip("fastapi")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    from taskhub.testing import run_task

    runs: dict[str, Path] = {}

    def get(task: str) -> Path:
        if task not in runs:
            run_dir = tmp_path_factory.mktemp(f"serve_{task}")
            run_task(task, run_dir, "trainer.num_threads=1", *TINY[task])
            runs[task] = run_dir / "checkpoints" / "best.pt"
        return runs[task]

    return get


@pytest.fixture(scope="session")
def vision_bundle(checkpoint, tmp_path_factory) -> Path:
    from taskhub.export import export_checkpoint

    return export_checkpoint(checkpoint("vision"), "onnx", tmp_path_factory.mktemp("bundle") / "vision")
