"""The two export formats: ONNX (for onnxruntime, what ``predict bundle=`` and ``serve`` run) and
``torch.export`` programs (``model.pt2``, for PyTorch-side deployment). Each writes the file and
returns a runner (input arrays -> output arrays) for the parity check."""
from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from taskhub.errors import UserError
from taskhub.export.spec import ExportSpec

#: ONNX opset written. The TorchScript-based exporter is used on purpose: it maps packed
#: recurrences (pack_padded_sequence) onto ONNX's ``sequence_lens``, which torch.export cannot capture.
OPSET = 17
Runner = Callable[[dict[str, np.ndarray]], list[np.ndarray]]
MODEL_FILES = {"onnx": "model.onnx", "torch_export": "model.pt2"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def to_onnx(spec: ExportSpec, path: Path, what: str) -> Runner:
    """Trace ``spec.module`` into ONNX file ``path``; returns an onnxruntime runner on the CPU."""
    from taskhub.export.deps import require

    require("onnx", "format=onnx")
    ort = require("onnxruntime", "format=onnx")
    args = tuple(spec.example_inputs.values())
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(spec.module, args, str(path), input_names=list(spec.example_inputs),
                              output_names=list(spec.output_names), dynamic_axes=spec.axes(),
                              opset_version=OPSET, dynamo=False, do_constant_folding=True)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{what} does not export to ONNX ({_first_line(exc)}); try format=torch_export "
                        f"or another model") from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}  # the exporter drops inputs the graph never reads

    return lambda arrays: list(session.run(list(spec.output_names), {k: v for k, v in arrays.items() if k in wanted}))


def to_torch_export(spec: ExportSpec, path: Path, what: str) -> Runner:
    """Capture ``spec.module`` with ``torch.export`` and save the program to ``path`` (.pt2)."""
    from torch.export import Dim

    axes = spec.axes()
    shapes = tuple({int(a): Dim.DYNAMIC for a in axes.get(name, {})} or None for name in spec.example_inputs)
    args = tuple(spec.example_inputs.values())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(spec.module, args, dynamic_shapes=shapes, strict=False)
    except Exception as exc:
        raise UserError(f"{what} cannot be captured by torch.export ({_first_line(exc)}); use format=onnx") from None
    torch.export.save(program, str(path))
    module = program.module()

    def run(arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            out = module(*(torch.from_numpy(arrays[name]) for name in spec.example_inputs))
        return [t.detach().numpy() for t in (out if isinstance(out, (tuple, list)) else (out,))]

    return run


EXPORTERS: dict[str, Callable[[ExportSpec, Path, str], Runner]] = {"onnx": to_onnx, "torch_export": to_torch_export}
