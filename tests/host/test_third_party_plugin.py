"""A third-party plugin, written here as its own package with its own entry point, runs like a built-in."""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from taskhub.testing import cli, read_summary

PLUGIN = '''
"""A third-party taskhub plugin: learn y = 3x - 1 with a linear model."""
import taskhub
import torch
from torchmetrics import MeanAbsoluteError, MetricCollection
from taskhub.data import InMemoryDataset


class LineTask(taskhub.Task):
    name = "line"
    objective = ("val/mae", "min")
    metrics = ("mae",)

    def build_data(self, stage):
        g = torch.Generator().manual_seed(int(self.cfg.seed))
        x = torch.rand(self.cfg.dataset.n, 1, generator=g) * 2 - 1
        y = 3 * x - 1 + 0.01 * torch.randn(x.shape, generator=g)
        ds = InMemoryDataset({"x": x, "y": y})
        n = len(x)
        return taskhub.Data(train=ds.subset(range(0, n - 64)), val=ds.subset(range(n - 64, n - 32)),
                            test=ds.subset(range(n - 32, n)))

    def build_model(self):
        return torch.nn.Linear(1, 1)

    def build_metrics(self):
        return MetricCollection({"mae": MeanAbsoluteError()})

    def training_step(self, model, batch):
        return torch.nn.functional.mse_loss(model(batch["x"]), batch["y"])

    def evaluation_step(self, model, batch, metrics):
        pred = model(batch["x"])
        metrics.update(pred, batch["y"])
        return torch.nn.functional.mse_loss(pred, batch["y"])

    def predict(self, model, inputs):
        for value in inputs:
            yield {"input": value, "y": float(model(torch.tensor([[float(value)]])))}


@taskhub.hookimpl
def register_tasks(register):
    register(LineTask)


@taskhub.hookimpl
def config_package(task):
    return "taskhub_line.configs" if task == "line" else None
'''


def write_plugin(site: Path) -> None:
    pkg = site / "taskhub_line"
    (pkg / "configs" / "task").mkdir(parents=True)
    (pkg / "configs" / "model").mkdir()
    (pkg / "configs" / "dataset").mkdir()
    (pkg / "__init__.py").write_text(PLUGIN)
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
def plugin_env(tmp_path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site)
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def test_third_party_task_trains_through_its_entry_point(tmp_path, plugin_env):
    run_dir = tmp_path / "run"
    result = cli("run", "task=line", f"hydra.run.dir={run_dir}", "trainer.device=cpu", env=plugin_env)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = read_summary(run_dir)
    assert summary["task"] == "line" and summary["model"] == "linear" and summary["dataset"] == "line"
    assert summary["test/mae"] < 0.1  # it learned the line
    assert (run_dir / "checkpoints" / "best.pt").is_file()
    assert "broken" in result.stdout + result.stderr  # the broken plugin was named


def test_broken_plugin_is_reported_and_others_load(plugin_env):
    result = cli("plugins", "--json", env=plugin_env)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert "frobnicate" in plugins["broken"]["error"]
    assert plugins["line"]["tasks"] == ["line"] and plugins["line"]["error"] is None
    assert plugins["line"]["models"] == {"line": ["linear"]}
    assert plugins["vision"]["error"] is None


def test_third_party_predict_and_eval(tmp_path, plugin_env):
    run_dir = tmp_path / "run"
    assert cli("run", "task=line", f"hydra.run.dir={run_dir}", "trainer.max_epochs=3", env=plugin_env).returncode == 0
    ckpt = run_dir / "checkpoints" / "best.pt"
    result = cli("predict", f"ckpt={ckpt}", "text=0.5", env=plugin_env)
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout.splitlines()[0])
    assert abs(row["y"] - 0.5) < 0.3
    eval_dir = tmp_path / "eval"
    result = cli("eval", f"ckpt={ckpt}", "split=all", f"hydra.run.dir={eval_dir}", env=plugin_env)
    assert result.returncode == 0, result.stderr
    summary = read_summary(eval_dir)
    assert "val/mae" in summary and "test/mae" in summary
