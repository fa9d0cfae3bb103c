"""The bad-input corpus every dataset loader of every installed task plugin goes through.

Each case is a mistake a user makes with any loader: a setting the loader does not take, a batch
size that is no batch size, data that is not there, an empty folder. Each must end in exactly one
`error:` line that names the setting or the path, never a traceback and never a silent run. A new
loader (a new `dataset/*.yaml` in any plugin's config package) gets these checks without a line
added here; the format-specific cases (a `.gz` that is not gzip, a COCO bbox with 3 numbers, a text
row without a label...) live beside each plugin's tests (tests/*/test_*_bad_inputs.py).
"""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from taskhub import config_groups
from taskhub.cli import main
from taskhub.plugins import get_host

QUICK = ("trainer.max_epochs=1", "trainer.device=cpu", "trainer.progress=none")


def _loaders() -> list[tuple[str, str, dict]]:
    """(task, dataset option, its YAML) for every dataset config that reads from files or is built in."""
    from importlib import resources

    host = get_host()
    found = []
    for task in sorted(host.tasks):
        packages = [package for _, package in host.config_packages(task)]
        for option in config_groups.group_options(packages, "dataset"):
            for package in packages:
                path = resources.files(package) / "dataset" / f"{option}.yaml"
                if path.is_file():
                    cfg = OmegaConf.to_container(OmegaConf.create(path.read_text()), resolve=False)
                    if "key" not in cfg:  # in-memory data from Python (taskhub.run(data=...)): no files to get wrong
                        found.append((task, option, cfg))
                    break
    return found


LOADERS = _loaders()
IDS = [f"{task}-{option}" for task, option, _ in LOADERS]


def _one_error(capsys, *args: str) -> str:
    code = main(["run", *args, *QUICK])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (code, lines[-5:])
    assert "Traceback" not in out + err
    return lines[0]


@pytest.mark.parametrize(("task", "option", "cfg"), LOADERS, ids=IDS)
def test_a_setting_the_loader_does_not_take(task, option, cfg, tmp_path, capsys):
    line = _one_error(capsys, f"task={task}", f"dataset={option}", "+dataset.val_fractoin=0.2",
                      f"hydra.run.dir={tmp_path}")
    assert "dataset.val_fractoin" in line


@pytest.mark.parametrize(("task", "option", "cfg"), LOADERS, ids=IDS)
def test_a_batch_size_that_is_no_batch_size(task, option, cfg, tmp_path, capsys):
    line = _one_error(capsys, f"task={task}", f"dataset={option}", "dataset.batch_size=abc", f"hydra.run.dir={tmp_path}")
    assert "dataset.batch_size='abc'" in line


@pytest.mark.parametrize("value", ["0", "-4", "1.5"])
def test_every_kind_of_bad_batch_size(value, tmp_path, capsys):
    # One check for every loader (the engine's), so one loader shows the kinds.
    line = _one_error(capsys, "task=tabular", f"dataset.batch_size={value}", f"hydra.run.dir={tmp_path}")
    assert f"dataset.batch_size={value}" in line and "positive integer" in line


FILE_LOADERS = [(t, o, c) for t, o, c in LOADERS if "root" in c or "train" in c]


def _required(cfg: dict, place) -> list[str]:
    """Values for a loader's other required (``???``) settings: paths under ``place`` or a column name."""
    return [f"dataset.{k}={place / k if k not in ('label', 'label_column', 'text_columns') else 'label'}"
            for k, v in cfg.items() if v == "???" and k not in ("root", "train")]


@pytest.mark.parametrize(("task", "option", "cfg"), FILE_LOADERS, ids=[f"{t}-{o}" for t, o, _ in FILE_LOADERS])
def test_data_that_is_not_there_is_named(task, option, cfg, tmp_path, capsys):
    key = "root" if "root" in cfg else "train"
    missing = tmp_path / "nowhere" / ("data" if key == "root" else "train.csv")
    line = _one_error(capsys, f"task={task}", f"dataset={option}", f"dataset.{key}={missing}",
                      *_required(cfg, tmp_path / "nowhere"), f"hydra.run.dir={tmp_path / 'run'}")
    assert "nowhere" in line


ROOT_LOADERS = [(t, o, c) for t, o, c in LOADERS if "root" in c and c.get("train") != "???"]  # not a file list


@pytest.mark.parametrize(("task", "option", "cfg"), ROOT_LOADERS, ids=[f"{t}-{o}" for t, o, _ in ROOT_LOADERS])
def test_an_empty_data_folder_is_named(task, option, cfg, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    line = _one_error(capsys, f"task={task}", f"dataset={option}", f"dataset.root={empty}",
                      *_required(cfg, empty), f"hydra.run.dir={tmp_path / 'run'}")
    assert str(empty) in line
