"""Helpers for testing taskhub plugins (the built-in plugins' tests use them too).

``PluginConformance`` is the conformance suite a plugin subclasses in its own tests (see
:mod:`taskhub.conformance`); ``run_task`` runs a task in-process; ``cli`` runs the command in a
subprocess, for tests where the process boundary is the point.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A folder under ``../shared/data`` (beside the checkout), or ``TASKHUB_SHARED_DATA``; tests
    should ``pytest.skip`` when it does not exist."""
    base = Path(os.environ.get("TASKHUB_SHARED_DATA", SHARED_DATA))
    return base.joinpath(*parts)


def run_task(task: str, run_dir: Path, *overrides: str) -> dict[str, Any]:
    """Run ``task`` in this process (as ``taskhub run`` does) into ``run_dir`` on the CPU, quietly."""
    import taskhub

    args = [f"hydra.run.dir={run_dir}", "trainer.device=cpu", "trainer.progress=none", *overrides]
    return taskhub.run(task, args)


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m taskhub ARGS`` in a subprocess (text output captured, never raises)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "taskhub", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def read_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "summary.json").read_text())


def __getattr__(name: str) -> Any:
    # The suite imports pytest: only tests that use it need pytest installed.
    if name in ("PluginConformance", "compose"):
        from taskhub import conformance

        return getattr(conformance, name)
    raise AttributeError(f"module 'taskhub.testing' has no attribute {name!r}")


def assert_picture(path: Path, min_size: tuple[int, int] = (300, 200)) -> None:
    """``path`` is a PNG a person can read: at least ``min_size`` pixels and not blank (its pixels vary)."""
    import numpy as np
    from PIL import Image

    path = Path(path)
    assert path.is_file(), f"{path.name} was not written"
    with Image.open(path) as image:
        assert image.width >= min_size[0] and image.height >= min_size[1], f"{path.name} is only {image.size}"
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 5, f"{path.name} looks blank"
