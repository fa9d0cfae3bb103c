"""``taskhub export``: a checkpoint becomes a self-contained bundle folder (docs/export.md).

``export_checkpoint`` writes the bundle (model.onnx or model.pt2, state.json, config.json, the
task's files, manifest.json) after checking the exported model against the eager one on real
validation data; ``load_bundle`` reads a bundle back for ``predict bundle=`` and ``serve``.
Tasks opt in through ``Task.export_spec``; this package never names a task. Nothing heavy is
imported until these functions run.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskhub.export.spec import ExportSpec

if TYPE_CHECKING:
    from taskhub.export.bundle import BundlePredictor

FORMATS = ("onnx", "torch_export")
__all__ = ["ExportSpec", "FORMATS", "export_checkpoint", "load_bundle"]


def export_checkpoint(ckpt: str | Path, format: str = "onnx", out: str | Path | None = None,
                      overrides: Any = ()) -> Path:
    """Export checkpoint ``ckpt`` to ``format`` into folder ``out``; returns the folder."""
    from taskhub.export.writer import export_checkpoint as _export

    return _export(ckpt, format, out, overrides)


def load_bundle(folder: str | Path, device: str = "auto") -> BundlePredictor:
    """An exported ONNX bundle, ready to ``predict(inputs)`` like ``taskhub.load(...)``."""
    from taskhub.export.bundle import load_bundle as _load

    return _load(folder, device)
