"""`pip install .` (a wheel, not an editable install) gives a working taskhub from any directory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_carries_configs_and_runs_from_anywhere(tmp_path):
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(wheels), str(REPO)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(wheels.glob("taskhub_dl-*.whl"))
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                              str(wheel)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    assert (target / "taskhub" / "configs" / "run.yaml").is_file()  # a real file, not the repo's symlink
    assert not (target / "taskhub" / "configs").is_symlink()
    assert (target / "taskhub_vision" / "configs" / "task" / "vision.yaml").is_file()
    # Only the installed copy is importable: the repository is not on the path.
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1"}
    code = ("import sys, taskhub, taskhub_vision; assert taskhub.__file__.startswith(sys.argv[1]), taskhub.__file__; "
            "from taskhub.cli import main; sys.exit(main(sys.argv[2:]))")
    listed = subprocess.run([sys.executable, "-c", code, str(target), "plugins", "--json"], cwd=elsewhere, env=env,
                            capture_output=True, text=True, timeout=600)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "vision" in [p["name"] for p in json.loads(listed.stdout)]
    run = subprocess.run([sys.executable, "-c", code, str(target), "run", "task=vision", "model=mlp",
                          "dataset.num_samples=200", "trainer.max_epochs=1", "trainer.progress=none"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert list((elsewhere / "runs" / "vision").glob("*/summary.json"))
