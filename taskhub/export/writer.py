"""Write a bundle: export the task's network, check parity on real data, then the folder.

The folder is built under a temporary name and renamed at the end, so a failed export (a model
that does not trace, outputs beyond the tolerance) never leaves a half-written bundle behind.
"""
from __future__ import annotations

import json
import logging
import platform
import shutil
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from taskhub.errors import UserError, unknown_choice
from taskhub.export.formats import EXPORTERS, MODEL_FILES, OPSET
from taskhub.export.parity import check_parity
from taskhub.export.spec import ExportSpec

log = logging.getLogger("taskhub")
BUNDLE_FORMAT = 1
#: validation samples the parity check runs (the first ones of the split)
PARITY_SAMPLES = 16


def validation_batch(task: Any, samples: int = PARITY_SAMPLES) -> Any:
    """The first ``samples`` examples of the validation split (else test, else train), collated."""
    from torch.utils.data import DataLoader

    splits = task.build_data("eval")
    dataset = next((d for d in (splits.val, splits.test, splits.train) if d is not None and len(d)), None)
    if dataset is None:
        raise UserError(f"task={task.name}: the checkpoint's dataset has no examples to check the export on; "
                        f"point dataset.* at data the model was trained for")
    loader = DataLoader(dataset, batch_size=min(samples, len(dataset)), shuffle=False, collate_fn=splits.collate)
    return next(iter(loader))


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("taskhub-dl", "torch", "onnx", "onnxruntime", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _describe(name: str, array: Any, axes: dict[int, str]) -> dict[str, Any]:
    shape = [axes.get(i, int(n)) for i, n in enumerate(array.shape)]
    return {"name": name, "shape": shape, "dtype": str(array.dtype).replace("torch.", ""),
            "dynamic_axes": {str(k): v for k, v in axes.items()}}


def _plain(value: Any) -> Any:
    """numpy and torch scalars and arrays as JSON values; anything else is a bug in a task's state."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"export state: {type(value).__name__} is not JSON data")


def _json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=_plain) + "\n", encoding="utf-8")


def export_checkpoint(ckpt: str | Path, fmt: str, out: str | Path | None, overrides: Any = ()) -> Path:
    import taskhub
    from omegaconf import OmegaConf

    if fmt not in EXPORTERS:
        raise unknown_choice("export format", fmt, EXPORTERS, "(format=)")
    ckpt_path = Path(ckpt).expanduser()
    predictor = taskhub.load(ckpt_path, list(overrides), device="cpu")
    task, model = predictor.task, predictor.model.cpu().eval()
    what = f"task={task.name} model={task.model_name()}"
    spec: ExportSpec | None = task.export_spec(model, validation_batch(task))
    if spec is None:
        raise UserError(f"task={task.name} cannot be exported: its Task has no export_spec (see docs/export.md)")
    spec.module.eval()
    folder = Path(out).expanduser() if out else ckpt_path.resolve().parent.parent / f"export_{fmt}"
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        runner = EXPORTERS[fmt](spec, tmp / MODEL_FILES[fmt], what)
        parity = check_parity(spec, runner, what)
        with torch.no_grad():
            outs = spec.module(*spec.example_inputs.values())
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        axes = spec.axes()
        for name, text in spec.files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        _json(tmp / "state.json", spec.state)
        _json(tmp / "config.json", OmegaConf.to_container(task.cfg, resolve=True))
        _json(tmp / "manifest.json", {
            "bundle_format": BUNDLE_FORMAT,
            "task": task.name,
            "model": task.model_name(),
            "format": fmt,
            "model_file": MODEL_FILES[fmt],
            "opset": OPSET if fmt == "onnx" else None,
            "inputs": [_describe(n, a, axes.get(n, {})) for n, a in spec.example_inputs.items()],
            "outputs": [_describe(n, a, axes.get(n, {})) for n, a in zip(spec.output_names, outs)],
            "state": "state.json", "config": "config.json", "files": sorted(spec.files),
            "auto": dict(task.resolved),
            "parity": parity,
            "checkpoint": str(ckpt_path.resolve()),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions(),
        })
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    log.info("exported %s to %s (%s): parity on %d validation samples: max |diff| %.3g, %.0f%% predictions agree",
             what, folder, MODEL_FILES[fmt], parity["samples"], parity["max_abs_diff"], 100 * parity["agreement"])
    return folder
