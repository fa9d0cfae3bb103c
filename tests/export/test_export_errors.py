"""What a user gets wrong about export and bundles: one line each, and nothing half-written."""
from __future__ import annotations

import sys

import pytest
import torch

from taskhub import ExportSpec, Task, UserError
from taskhub.cli import main

pytest.importorskip("onnxruntime")


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_missing_ckpt_and_unknown_format(capsys, tmp_path):
    assert main(["export", "format=onnx"]) == 2
    assert "ckpt=PATH" in _one_line_error(capsys)
    assert main(["export", f"ckpt={tmp_path / 'none.pt'}"]) == 2
    assert "checkpoint not found" in _one_line_error(capsys)


@pytest.mark.slow
def test_unknown_format_and_a_task_without_export(trained, tmp_path, capsys, monkeypatch):
    ckpt = trained("vision") / "checkpoints" / "best.pt"
    assert main(["export", f"ckpt={ckpt}", "format=tflite"]) == 2
    assert "onnx" in _one_line_error(capsys)
    from taskhub_vision.task import VisionTask

    monkeypatch.setattr(VisionTask, "export_spec", Task.export_spec)  # what a task that never opted in has
    out = tmp_path / "bundle"
    assert main(["export", f"ckpt={ckpt}", f"out={out}"]) == 2
    assert "cannot be exported" in _one_line_error(capsys)
    assert not out.exists() and not any(tmp_path.glob(".bundle*"))


def test_not_a_bundle(tmp_path, capsys):
    assert main(["predict", f"bundle={tmp_path}", "input=x.png"]) == 2
    assert "not a taskhub bundle" in _one_line_error(capsys)
    (tmp_path / "manifest.json").write_text("{not json")
    assert main(["predict", f"bundle={tmp_path}", "input=x.png"]) == 2
    assert "unreadable" in _one_line_error(capsys)


class Noisy(torch.nn.Module):
    """Adds fresh noise on every call: the exported graph cannot reproduce the eager outputs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.rand_like(x)


def test_parity_beyond_tolerance_fails(tmp_path):
    from taskhub.export.formats import to_onnx
    from taskhub.export.parity import check_parity

    spec = ExportSpec(module=Noisy(), example_inputs={"x": torch.zeros(4, 3)}, output_names=["y"])
    runner = to_onnx(spec, tmp_path / "model.onnx", "noisy")
    with pytest.raises(UserError, match="disagrees with the eager one"):
        check_parity(spec, runner, "noisy")


def test_parity_passes_on_a_faithful_export(tmp_path):
    from taskhub.export.formats import to_onnx
    from taskhub.export.parity import check_parity

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).eval()
    spec = ExportSpec(module=model, example_inputs={"x": torch.randn(5, 3)}, output_names=["y"],
                      decide=lambda outs: outs[0].argmax(-1).tolist())
    report = check_parity(spec, to_onnx(spec, tmp_path / "model.onnx", "mlp"), "mlp")
    assert report["agreement"] == 1.0 and report["samples"] == 5 and report["max_abs_diff"] < 1e-5


def test_missing_extra_names_it(monkeypatch):
    from taskhub.export.deps import require

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an environment without the extra sees
    with pytest.raises(UserError, match=r"pip install 'taskhub-dl\[serve\]'"):
        require("onnxruntime", "predict bundle=")
