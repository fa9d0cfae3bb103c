"""The package docs/writing-a-plugin.md describes, written from the page's code blocks (the ones
whose first line names a file), built and installed by pip into a throwaway folder, then run in
this process: it trains, predicts, evaluates, and passes the page's own conformance tests."""
from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from taskhub.cli import main
from taskhub.plugins import get_host, reset_host
from taskhub.testing import read_summary, run_task

DOCS = Path(__file__).resolve().parents[2] / "docs" / "writing-a-plugin.md"


def docs_files() -> dict[str, str]:
    """The page's code blocks whose first line names a file: {path: content without that line}."""
    files: dict[str, str] = {}
    for block in re.findall(r"```(?:python|toml|yaml)\n(.*?)```", DOCS.read_text(), re.S):
        first, _, rest = block.partition("\n")
        name = first.removeprefix("# ").strip()
        if first.startswith("# ") and (name == "pyproject.toml" or name.startswith(("taskhub_line/", "tests/"))):
            files[name] = rest
    return files


@pytest.fixture(scope="module", autouse=True)
def docs_site(tmp_path_factory) -> Path:
    """Install is the point: pip builds the page's package offline; its folder joins sys.path (entry
    points are read from it) for this module's tests only."""
    root = tmp_path_factory.mktemp("docs_plugin")
    package, site = root / "taskhub-line", root / "site"
    for name, text in docs_files().items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                             "--target", str(site), str(package)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    reset_host()
    yield site
    sys.path.remove(str(site))
    for name in [m for m in sys.modules if m.split(".")[0] == "taskhub_line"]:
        del sys.modules[name]
    reset_host()


def test_the_docs_show_every_file_of_the_package():
    assert set(docs_files()) == {"pyproject.toml", "taskhub_line/__init__.py", "taskhub_line/task.py",
                                 "taskhub_line/datasets.py", "taskhub_line/configs/__init__.py",
                                 "taskhub_line/configs/task/line.yaml", "taskhub_line/configs/model/linear.yaml",
                                 "taskhub_line/configs/dataset/line.yaml", "tests/test_line.py"}


def test_docs_plugin_trains_predicts_and_evaluates(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the documented way uses nothing deprecated
        summary = run_task("line", tmp_path / "run", "trainer.max_epochs=10")
    assert summary["task"] == "line" and summary["model"] == "linear" and summary["dataset"] == "line"
    assert summary["test/mae"] < 0.1  # it learned the line
    assert "taskhub_line.task" in sys.modules and get_host().tasks["line"].configs == "taskhub_line.configs"
    ckpt = tmp_path / "run" / "checkpoints" / "best.pt"
    capsys.readouterr()
    assert main(["predict", f"ckpt={ckpt}", "text=0.5"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["input"] == "0.5" and abs(row["y"] - 0.5) < 0.1
    assert main(["predict", f"ckpt={ckpt}", "text=half"]) == 2
    assert "error: input 'half': expected a number" in capsys.readouterr().err
    assert main(["eval", f"ckpt={ckpt}", "split=all", f"hydra.run.dir={tmp_path / 'eval'}"]) == 0
    evaluated = read_summary(tmp_path / "eval")
    assert evaluated["test/mae"] == pytest.approx(summary["test/mae"], abs=1e-6) and "val/mae" in evaluated


# The page's tests/test_line.py, as written there: it defines TestLine(PluginConformance), collected here.
exec(compile(docs_files()["tests/test_line.py"], f"{DOCS} (tests/test_line.py)", "exec"))
