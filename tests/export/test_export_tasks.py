"""Every built-in task exports to ONNX with parity recorded, and ``predict bundle=`` gives the
same JSON lines as ``predict ckpt=`` on the same inputs."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from export_helpers import TASKS, write_inputs
from taskhub.cli import main

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.slow

#: the axes beyond the batch each task's bundle must leave variable
LENGTH_AXES = {"text": ("input_ids", "sequence"), "speech": ("features", "time")}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_same(a, b, where: str = "row") -> None:
    """Equal structure and text; numbers equal within 1e-4 (ONNX's float rounding differs slightly)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: {a} vs {b}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-4), f"{where}: {a} vs {b}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


@pytest.mark.parametrize("task", TASKS)
def test_export_and_bundle_predict_agree(task, trained, tmp_path, capsys):
    run_dir = trained(task)
    ckpt = run_dir / "checkpoints" / "best.pt"
    bundle = tmp_path / "bundle"
    assert main(["export", f"ckpt={ckpt}", "format=onnx", f"out={bundle}"]) == 0
    assert "predictions agree" in capsys.readouterr().out

    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["task"] == task and manifest["format"] == "onnx" and (bundle / "model.onnx").is_file()
    parity = manifest["parity"]
    assert parity["samples"] > 0 and parity["agreement"] == 1.0
    assert parity["max_abs_diff"] <= parity["tolerance"]
    for spec in manifest["inputs"] + manifest["outputs"]:
        assert spec["shape"][0] == "batch" and spec["dynamic_axes"]["0"] == "batch"
    if task in LENGTH_AXES:
        name, axis = LENGTH_AXES[task]
        assert axis in next(i for i in manifest["inputs"] if i["name"] == name)["dynamic_axes"].values()
    assert json.loads((bundle / "state.json").read_text())  # the fitted state travels as JSON
    assert {"torch", "onnxruntime"} <= set(manifest["versions"])

    inputs = write_inputs(task, tmp_path / "inputs")
    key = "text" if task == "text" else "input"
    values = [f"{key}={inputs[0]}", *inputs[1:]]
    assert main(["predict", f"ckpt={ckpt}", *values, f"out={tmp_path / 'eager.jsonl'}"]) == 0
    assert main(["predict", f"bundle={bundle}", *values, f"out={tmp_path / 'bundle.jsonl'}"]) == 0
    eager, exported = _rows(tmp_path / "eager.jsonl"), _rows(tmp_path / "bundle.jsonl")
    assert len(eager) >= len(inputs) if task != "tabular" else len(eager) == 5
    assert_same(eager, exported)


def test_torch_export_bundle_and_its_refusal_in_predict(trained, tmp_path, capsys):
    ckpt = trained("vision") / "checkpoints" / "best.pt"
    bundle = tmp_path / "pt2"
    assert main(["export", f"ckpt={ckpt}", "format=torch_export", f"out={bundle}"]) == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["model_file"] == "model.pt2" and (bundle / "model.pt2").is_file()
    assert manifest["parity"]["agreement"] == 1.0
    capsys.readouterr()
    image = write_inputs("vision", tmp_path / "inputs")[0]
    assert main(["predict", f"bundle={bundle}", f"input={image}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "format=onnx" in err and len(err.splitlines()) == 1
