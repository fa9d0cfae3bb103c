"""Read a bundle back and predict with it: JSON files and an ONNX graph, never code.

The task's own ``predict`` runs with the ONNX network (onnxruntime behind an ``nn.Module``) in
the model's place, through ``Task.bundle_model``, so bundle and checkpoint predictions share
every line of pre- and post-processing. ``model.pt2`` bundles are refused here:
``torch.export.load`` falls back to full pickle loading, which can run code from the file.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from taskhub.api import Predictor
from taskhub.errors import UserError


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise UserError(f"{path.parent}: not a taskhub bundle (no {path.name}); make one with taskhub export ckpt=PATH")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: unreadable {what} ({exc})") from None


def read_manifest(folder: str | Path) -> dict[str, Any]:
    manifest = _read_json(Path(folder).expanduser() / "manifest.json", "bundle manifest")
    if not isinstance(manifest, dict) or "task" not in manifest or "model_file" not in manifest:
        raise UserError(f"{folder}/manifest.json: not a taskhub bundle manifest (no task or model_file)")
    return manifest


class OnnxNetwork(torch.nn.Module):
    """An ONNX session called like the exported module: tensors in, a tensor or tuple of tensors out."""

    def __init__(self, session: Any, input_names: list[str], output_names: list[str]) -> None:
        super().__init__()
        self.session, self.input_names, self.output_names = session, input_names, output_names
        self.graph_inputs = {i.name for i in session.get_inputs()}  # the exporter drops inputs never read
        # tasks ask next(model.parameters()).device where to put inputs: the CPU, where onnxruntime reads them
        self.anchor = torch.nn.Parameter(torch.zeros(0), requires_grad=False)

    def forward(self, *args: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        feeds = {name: a.detach().cpu().numpy() for name, a in zip(self.input_names, args) if name in self.graph_inputs}
        outs = tuple(torch.from_numpy(o) for o in self.session.run(self.output_names, feeds))
        return outs[0] if len(outs) == 1 else outs


class BundlePredictor(Predictor):
    """``predict(inputs)`` as :class:`taskhub.api.Predictor`, on a bundle; ``manifest`` describes it."""

    def __init__(self, task: Any, model: torch.nn.Module, manifest: dict[str, Any], providers: list[str]) -> None:
        super().__init__(task, model, torch.device("cpu"))
        self.manifest, self.providers = manifest, providers


def providers(device: str = "auto") -> list[str]:
    """onnxruntime's CUDA provider when present (and not device=cpu), then the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted = ["CUDAExecutionProvider"] if device in ("auto", "cuda") else []
    return [p for p in wanted if p in available] + ["CPUExecutionProvider"]


def load_bundle(folder: str | Path, device: str = "auto") -> BundlePredictor:
    from taskhub.export.deps import require
    from taskhub.plugins import get_host

    root = Path(folder).expanduser()
    manifest = read_manifest(root)
    if manifest.get("format") != "onnx":
        raise UserError(f"{root}: a {manifest.get('format')} bundle ({manifest['model_file']}); predict and serve run "
                        f"ONNX bundles only (torch.export.load can run code from the file): export with format=onnx")
    ort = require("onnxruntime", "predict bundle=")
    raw = _read_json(root / str(manifest.get("config", "config.json")), "bundle config")
    try:
        from taskhub.trust import check_targets, trusted_prefixes

        check_targets(raw, f"bundle {root}", (), trusted_prefixes())  # the task may build classes from it
    except ImportError:
        pass
    cfg = OmegaConf.create(raw)
    task = get_host().task_class(str(manifest["task"]))(cfg)
    task.restore_resolved(manifest.get("auto") or {})
    task.load_bundle_state(_read_json(root / str(manifest.get("state", "state.json")), "bundle state"), root)
    model_file = root / str(manifest["model_file"])
    if not model_file.is_file() or model_file.parent != root:
        raise UserError(f"{root}: the bundle's model file {manifest['model_file']} is missing")
    chosen = providers(device)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # one thread knob for both runtimes (OMP_NUM_THREADS)
    # idle worker threads sleep instead of spinning: spinning wins little on a busy or shared CPU and costs a lot
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(model_file), sess_options=options, providers=chosen)
    except Exception as exc:
        raise UserError(f"{model_file}: onnxruntime cannot load it ({type(exc).__name__}: {str(exc)[:200]})") from None
    network = OnnxNetwork(session, [i["name"] for i in manifest["inputs"]], [o["name"] for o in manifest["outputs"]])
    model = task.bundle_model(network).eval()
    return BundlePredictor(task, model, manifest, chosen)
