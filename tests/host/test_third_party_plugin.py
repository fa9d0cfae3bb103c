"""A third-party plugin written against the 0.1 version of docs/writing-a-plugin.md
(tests/host/fixtures/old_docs_line_plugin.py, its code block as it stood), installed as its own
package with its own entry point, keeps working with deprecation warnings only. (The package the
page describes today is tests/host/test_docs_plugin.py's.)"""
from __future__ import annotations

import importlib
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from taskhub.cli import main
from taskhub.plugins import reset_host
from taskhub.testing import cli, read_summary, run_task

OLD_PLUGIN = Path(__file__).parent / "fixtures" / "old_docs_line_plugin.py"


def write_old_plugin(site: Path) -> None:
    """The 0.1 docs' layout: the Task in __init__.py, register(LineTask), config_package, taskhub.Data."""
    pkg = site / "taskhub_line"
    for group in ("task", "model", "dataset"):
        (pkg / "configs" / group).mkdir(parents=True)
    (pkg / "__init__.py").write_text(OLD_PLUGIN.read_text())
    (pkg / "configs" / "__init__.py").write_text("")
    (pkg / "configs" / "task" / "line.yaml").write_text(textwrap.dedent("""\
        # @package _global_
        defaults:
          - /model: linear
          - /dataset: line
          - _self_
        task:
          name: line
        optimizer:
          lr: 0.05
        trainer:
          max_epochs: 8
        """))
    (pkg / "configs" / "model" / "linear.yaml").write_text("_target_: torch.nn.Linear\nin_features: 1\nout_features: 1\n")
    (pkg / "configs" / "dataset" / "line.yaml").write_text("n: 1024\nbatch_size: 32\n")
    dist = site / "taskhub_line-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: taskhub-line\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[taskhub]\nline = taskhub_line\n")
    # A second, broken third-party plugin: it must be reported by name and not stop the others.
    (site / "taskhub_broken.py").write_text("raise ImportError('missing dependency: frobnicate')\n")
    broken = site / "taskhub_broken-0.1.0.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: taskhub-broken\nVersion: 0.1.0\n")
    (broken / "entry_points.txt").write_text("[taskhub]\nbroken = taskhub_broken\n")


@pytest.fixture
def on_path(monkeypatch):
    """Put a site folder on sys.path for this process (entry points are read from sys.path) and
    forget the plugins afterwards."""
    def add(site: Path) -> None:
        monkeypatch.syspath_prepend(str(site))
        importlib.invalidate_caches()
        reset_host()

    yield add
    for name in [m for m in sys.modules if m.split(".")[0] in ("taskhub_line", "taskhub_broken")]:
        del sys.modules[name]
    reset_host()


def test_old_docs_plugin_still_runs_with_deprecation_warnings(tmp_path, on_path, capsys):
    site = tmp_path / "site"
    site.mkdir()
    write_old_plugin(site)
    on_path(site)
    with pytest.warns(DeprecationWarning) as caught:
        summary = run_task("line", tmp_path / "run", "trainer.max_epochs=8")
    messages = " | ".join(str(w.message) for w in caught)
    assert "taskhub.Data is deprecated" in messages
    assert "gives task 'line' its configs through the config_package hook" in messages
    assert summary["test/mae"] < 0.1
    capsys.readouterr()  # the run's log
    assert main(["plugins", "--json"]) == 0
    plugins = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert "frobnicate" in plugins["broken"]["error"] and plugins["vision"]["error"] is None
    assert plugins["line"]["tasks"] == ["line"] and plugins["line"]["models"] == {"line": ["linear"]}
    ckpt = tmp_path / "run" / "checkpoints" / "best.pt"
    assert main(["predict", f"ckpt={ckpt}", "text=0.5"]) == 0
    assert abs(json.loads(capsys.readouterr().out.splitlines()[0])["y"] - 0.5) < 0.3


def test_old_docs_plugin_through_the_installed_command(tmp_path):
    """A fresh `python -m taskhub` process finds the plugin by its entry point and names the broken one."""
    site = tmp_path / "site"
    site.mkdir()
    write_old_plugin(site)
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    run_dir = tmp_path / "run"
    result = cli("run", "task=line", f"hydra.run.dir={run_dir}", "trainer.device=cpu", "trainer.max_epochs=3",
                 env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert read_summary(run_dir)["epochs"] == 3 and (run_dir / "checkpoints" / "best.pt").is_file()
    assert "taskhub-broken" in result.stdout + result.stderr or "'broken'" in result.stdout + result.stderr
