"""``taskhub plugins new``: the package it writes installs, learns and passes its own tests, untouched."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from taskhub.cli import main
from taskhub.testing import cli, read_summary


def test_new_writes_a_complete_package(tmp_path, capsys):
    assert main(["plugins", "new", "keyword_spotting", "--task", "kws", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "taskhub-keyword-spotting"
    assert f"wrote {root}" in capsys.readouterr().out
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "taskhub_keyword_spotting/__init__.py",
                     "taskhub_keyword_spotting/configs/__init__.py", "taskhub_keyword_spotting/configs/dataset/blobs.yaml",
                     "taskhub_keyword_spotting/configs/model/mlp.yaml", "taskhub_keyword_spotting/configs/task/kws.yaml",
                     "taskhub_keyword_spotting/datasets.py", "taskhub_keyword_spotting/models.py",
                     "taskhub_keyword_spotting/task.py", "tests/test_keyword_spotting.py"]
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "taskhub-keyword_spotting"' not in pyproject and "[project.entry-points.taskhub]" in pyproject
    assert 'keyword_spotting = "taskhub_keyword_spotting"' in pyproject
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "$" not in text.replace("${seed}", ""), f"{path.name} kept a template placeholder"
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    assert 'register("taskhub_keyword_spotting.task:KwsTask", name="kws"' in \
        (root / "taskhub_keyword_spotting" / "__init__.py").read_text()


def test_new_refuses_to_overwrite_and_bad_names_are_one_line(tmp_path, capsys):
    assert main(["plugins", "new", "line", "--dir", str(tmp_path)]) == 0
    assert main(["plugins", "new", "line", "--dir", str(tmp_path)]) == 2
    assert main(["plugins", "new", "Bad-Name!", "--dir", str(tmp_path)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "already exists" in errors[0] and "lowercase letters" in errors[1]


@pytest.mark.slow
def test_generated_plugin_installs_learns_and_passes_its_tests(tmp_path):
    """Install is the point: pip builds the generated package (offline, into a throwaway target
    folder, not the venv), then a fresh `taskhub` finds it by its entry point."""
    assert main(["plugins", "new", "blobs_demo", "--dir", str(tmp_path)]) == 0
    package, site = tmp_path / "taskhub-blobs-demo", tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--target", str(site), str(package)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}

    listed = cli("plugins", "--json", env=env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    plugin = {p["name"]: p for p in json.loads(listed.stdout)}["blobs_demo"]
    assert plugin["tasks"] == ["blobs_demo"] and plugin["version"] == "0.1.0" and plugin["error"] is None

    run_dir = tmp_path / "run"
    result = cli("run", "task=blobs_demo", f"hydra.run.dir={run_dir}", "trainer.device=cpu", "trainer.progress=none",
                 "trainer.num_threads=1", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_summary(run_dir)["test/accuracy"] > 0.9  # three Gaussian clusters: chance is 1/3

    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=package,
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=900)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
