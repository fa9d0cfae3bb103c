"""The Python API: ``taskhub.run`` (what the CLI's ``run`` does) and ``taskhub.load`` (predict)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from taskhub.engine import checkpoint
from taskhub.engine.device import pick_device
from taskhub.plugins import get_host


def run(task: str, overrides: Sequence[str] = (), multirun: bool = False, **settings: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """Run ``taskhub run task=TASK OVERRIDES`` in this process and return its summary.

    Keyword arguments are more overrides: ``run("vision", max_epochs=1)`` is not a thing, but
    ``run("vision", ["trainer.max_epochs=1"], seed=3)`` and ``run("vision", model="mlp")`` are.
    With ``multirun=True`` the list of every job's summary is returned.
    """
    from taskhub.launch import launch

    args = [f"task={task}", *overrides, *(f"{k}={_value(v)}" for k, v in settings.items())]
    results = launch([*args, *(["-m"] if multirun else [])])
    if multirun:
        return results
    return results[-1] if results else {}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_value(x) for x in v) + "]"
    return str(v)


class Predictor:
    """A trained model with its task: ``predict(inputs)`` on raw inputs (paths, strings, arrays)."""

    def __init__(self, task: Any, model: torch.nn.Module, device: torch.device) -> None:
        self.task, self.model, self.device = task, model, device

    @torch.inference_mode()
    def predict(self, inputs: Any) -> list[dict[str, Any]]:
        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        self.model.eval()
        return list(self.task.predict(self.model, list(inputs) if isinstance(inputs, Iterable) else inputs))


def load(ckpt: str | Path, overrides: Sequence[str] = (), device: str = "auto") -> Predictor:
    """The model in checkpoint ``ckpt``, ready to predict; ``overrides`` adjust its config (``task.topk=3``)."""
    data = checkpoint.load(ckpt)
    cfg = OmegaConf.create(data["config"])
    if overrides:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
    dev = pick_device(device if device != "auto" else cfg.trainer.get("device", "auto"))
    task = get_host().task_class(cfg.task.name)(cfg)
    task.load_state_dict(data["task_state"])
    model = task.build_model()
    model.load_state_dict(data["model"])
    return Predictor(task, model.to(dev).eval(), dev)
