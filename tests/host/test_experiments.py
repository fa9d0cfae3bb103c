"""A user's experiments are found where Hydra users keep them: ./configs/experiment and --config-dir."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from taskhub.cli import main
from taskhub.testing import run_task

EXPERIMENT = """# @package _global_
defaults:
  - override /model: mlp
  - _self_
optimizer:
  lr: 0.0123
trainer:
  max_epochs: 1
  limit_train_batches: 2
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / "experiment" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def composed(capsys, *args: str) -> dict:
    assert main(["run", "task=vision", *args, "--cfg", "job"]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def one_line_error(capsys, *args: str) -> str:
    assert main(["run", "task=vision", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in captured.out, captured.err
    return lines[0]


def test_an_experiment_in_the_working_directory_is_found(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "configs", "mine", EXPERIMENT)
    cfg = composed(capsys, "experiment=mine")
    assert cfg["optimizer"]["lr"] == 0.0123 and cfg["model"]["_target_"].endswith("MLP")
    # It trains, too (the run reads the same file).
    summary = run_task("vision", tmp_path / "run", "experiment=mine", "dataset.num_samples=200")
    assert summary["epochs"] == 1 and summary["model"] == "mlp"


def test_an_experiment_under_config_dir_is_found(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "elsewhere", "theirs", EXPERIMENT.replace("0.0123", "0.0456"))
    assert composed(capsys, "experiment=theirs", "--config-dir", str(tmp_path / "elsewhere"))["optimizer"]["lr"] == 0.0456
    assert composed(capsys, f"--config-dir={tmp_path / 'elsewhere'}", "+experiment@_global_=theirs")[
        "optimizer"]["lr"] == 0.0456
    error = one_line_error(capsys, "experiment=theirs")  # without the flag it is not found, and says where it looked
    assert "unknown experiment 'theirs'" in error and "./configs/experiment/" in error and "--config-dir" in error
    assert "no such directory" in one_line_error(capsys, "experiment=theirs", "--config-dir", str(tmp_path / "nope"))


@pytest.mark.parametrize("form", ["experiment=broken", "+experiment@_global_=broken"])
def test_a_yaml_error_is_one_line_naming_the_file_and_line(tmp_path, monkeypatch, capsys, form):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "configs", "broken", "# @package _global_\ntrainer:\n  max_epochs: 1\n limit: [2\n")
    error = one_line_error(capsys, form)
    assert f"{path}:4: not valid YAML" in error, error


def test_a_sweep_over_experiments_checks_each(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "configs", "good", EXPERIMENT)
    error = one_line_error(capsys, "-m", "experiment=good,gud")
    assert "unknown experiment 'gud'" in error and "did you mean 'good'" in error


def test_the_source_tree_configs_are_not_a_user_folder(monkeypatch):
    """Run from a checkout, ./configs is taskhub's own: not searched twice, never written by promote."""
    from importlib import resources

    from taskhub.config import local_config_dir, user_config_dirs

    own = Path(str(resources.files("taskhub.configs"))).resolve()
    monkeypatch.chdir(own.parent)
    assert local_config_dir() is None and user_config_dirs([]) == []


def test_a_shipped_experiment_implies_its_task(capsys, tmp_path, monkeypatch):
    from taskhub.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["run", "experiment=pennfudan_centernet", "dataset.root=/data/PennFudanPed", "--cfg", "job"]) == 0
    out = capsys.readouterr().out
    assert "name: detection" in out and "/data/PennFudanPed" in out


def test_a_users_experiment_sets_the_seed(capsys, tmp_path, monkeypatch):
    from taskhub.cli import main

    (tmp_path / "configs" / "experiment").mkdir(parents=True)
    (tmp_path / "configs" / "experiment" / "mine.yaml").write_text("# @package _global_\nseed: 7\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "task=tabular", "experiment=mine", "--cfg", "job"]) == 0
    assert "\nseed: 7\n" in "\n" + capsys.readouterr().out
