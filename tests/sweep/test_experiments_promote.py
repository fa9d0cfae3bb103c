"""``taskhub sweep report --promote`` writes where the next ``experiment=NAME`` finds it, never the source tree."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml
from taskhub_sweep.report import promote

from taskhub import UserError
from taskhub.cli import main
from taskhub.testing import run_task


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("promote") / "run"
    run_task("vision", run_dir, "model=mlp", "dataset.num_samples=200", "trainer.max_epochs=1",
             "optimizer.lr=0.0077", "trainer.num_threads=1")
    return run_dir


def composed(capsys, *args: str) -> dict:
    assert main(["run", "task=vision", *args, "--cfg", "job"]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_promoted_into_the_working_directory_is_found(trained, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = promote(trained, "best_tiny")
    assert path == tmp_path / "configs" / "experiment" / "best_tiny.yaml"
    cfg = composed(capsys, "experiment=best_tiny")
    assert cfg["optimizer"]["lr"] == pytest.approx(0.0077) and cfg["model"]["_target_"].endswith("MLP")


def test_promoted_into_a_given_folder_is_found_with_config_dir(trained, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = promote(trained, "best_there", to=tmp_path / "mine")
    assert path == tmp_path / "mine" / "experiment" / "best_there.yaml"
    assert "--config-dir" in path.read_text().splitlines()[2]  # the file says how to use it
    assert composed(capsys, "experiment=best_there", "--config-dir", str(tmp_path / "mine"))["optimizer"]["lr"] == \
        pytest.approx(0.0077)


def test_promote_never_writes_into_taskhub_own_configs(trained, monkeypatch):
    own = Path(str(resources.files("taskhub.configs"))).resolve()
    monkeypatch.chdir(own.parent)
    with pytest.raises(UserError, match="taskhub's own config folder"):
        promote(trained, "nope")
    with pytest.raises(UserError, match="taskhub's own config folder"):
        promote(trained, "nope", to=own)
    assert not (own / "experiment" / "nope.yaml").exists()
