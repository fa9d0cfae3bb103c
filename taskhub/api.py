"""The Python API: ``taskhub.run`` (what the CLI's ``run`` does) and ``taskhub.load`` (predict)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from taskhub.engine import checkpoint
from taskhub.engine.device import pick_device
from taskhub.errors import UserError
from taskhub.plugins import get_host


#: Keras-style keyword names and the overrides they stand for: ``run("tabular", data=(X, y), epochs=10, batch_size=32)``.
ALIASES = {"epochs": "trainer.max_epochs", "batch_size": "dataset.batch_size", "lr": "optimizer.lr",
           "device": "trainer.device"}


def run(task: str, overrides: Sequence[str] = (), multirun: bool = False, data: Any = None,
        **settings: Any) -> dict[str, Any] | list[dict[str, Any]]:
    """Run ``taskhub run task=TASK OVERRIDES`` in this process and return its summary.

    Keyword arguments are more overrides: ``run("vision", ["trainer.max_epochs=1"], seed=3)``
    and ``run("vision", model="mlp")``; ``epochs``, ``batch_size``, ``lr`` and ``device`` are
    short for ``trainer.max_epochs``, ``dataset.batch_size``, ``optimizer.lr`` and ``trainer.device``.
    ``data`` passes in-memory data (numpy arrays, pandas frames) to tasks that ship a
    ``dataset=arrays`` config: one training set such as ``(X, y)``, or
    ``{"train": ..., "val": ..., "test": ...}``. With ``multirun=True`` the list of every
    job's summary is returned.
    """
    from taskhub.data.memory import register_data, release_data
    from taskhub.launch import launch

    if isinstance(overrides, str):
        overrides = [overrides]
    args = [f"task={task}", *overrides, *(f"{ALIASES.get(k, k)}={_value(v)}" for k, v in settings.items())]
    key = register_data(data) if data is not None else None
    if key is not None:
        # Configs are text: the task's arrays builder finds the objects by this key.
        args += ["dataset=arrays", f"dataset.key={key}"]
    try:
        results = launch([*args, *(["-m"] if multirun else [])])
    except Exception as exc:
        error = _user_error(exc)
        if error is exc:
            raise
        raise error from None
    finally:
        if key is not None:
            release_data(key)
    if multirun:
        return results
    return results[-1] if results else {}


def _user_error(exc: Exception) -> Exception:
    """The UserError inside Hydra's InstantiationException wrappers, if any (as the CLI prints it)."""
    from hydra.errors import InstantiationException

    cause: BaseException = exc
    while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
        cause = cause.__cause__
    return cause if isinstance(cause, UserError) else exc


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
        """One dict per input. A single path or string is one input; arrays, tensors and data
        frames go to the task whole (it knows whether they are rows, images or one series)."""
        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        elif not _is_array_like(inputs) and isinstance(inputs, Iterable) and not isinstance(inputs, Mapping):
            inputs = list(inputs)
        self.model.eval()
        return list(self.task.predict(self.model, inputs))


def _is_array_like(x: Any) -> bool:
    # numpy arrays, torch tensors, pandas frames and series, without importing numpy or pandas here.
    return hasattr(x, "shape") and hasattr(x, "__len__")


def load(ckpt: str | Path, overrides: Sequence[str] = (), device: str = "auto", trust: Any = None) -> Predictor:
    """The model in checkpoint ``ckpt``, ready to predict; ``overrides`` adjust its config (``task.topk=3``).

    The checkpoint's config may build only trusted classes (see :mod:`taskhub.trust`);
    ``trust="mypkg,otherpkg"`` (or ``trust=...`` among the overrides) admits more module prefixes:
    only for files whose author you trust, since it lets the file run that code.
    """
    if isinstance(overrides, str):
        overrides = [overrides]
    picked = [o for o in overrides if o.partition("=")[0].lstrip("+") == "trust"]
    overrides = [o for o in overrides if o not in picked]
    if trust is None and picked:
        trust = picked[-1].partition("=")[2]
    data = checkpoint.load(ckpt)
    cfg = checkpoint.trusted_config(data, ckpt, trust)
    from taskhub.tracking.manifest import warn_drift

    warn_drift(data.get("manifest"), where=f"checkpoint {ckpt}")  # library major versions that differ
    if overrides:
        cfg = OmegaConf.merge(cfg, checked_overrides(cfg, overrides))
    dev = pick_device(device if device != "auto" else cfg.trainer.get("device", "auto"))
    task = get_host().task_class(cfg.task.name)(cfg)
    task.restore_resolved(data.get("auto", {}))
    task.load_state_dict(data["task_state"])
    model = task.build_model()
    model.load_state_dict(data["model"])
    return Predictor(task, model.to(dev).eval(), dev)


def checked_overrides(cfg: Any, overrides: Sequence[str]) -> Any:
    """``key=value`` overrides for a checkpoint's config as a config to merge: a key the config
    lacks is one line with "did you mean" (``+key=value`` adds one on purpose)."""
    from taskhub.errors import did_you_mean

    known = _dotted_keys(OmegaConf.to_container(cfg))
    dotlist = []
    for item in overrides:
        key, eq, value = item.partition("=")
        if not eq or not key.strip("+"):
            raise UserError(f"{item!r}: give overrides as key=value (e.g. task.topk=3)")
        adding, key = key.startswith("+"), key.lstrip("+")
        if not adding and key not in known and not any(k.startswith(key + ".") for k in known):
            raise UserError(f"{key}={value}: the checkpoint's config has no {key}{did_you_mean(key, known)} "
                            f"(use +{key}={value} to add it)")
        dotlist.append(f"{key}={value}")
    try:
        return OmegaConf.from_dotlist(dotlist)
    except Exception as exc:
        raise UserError(f"overrides {' '.join(overrides)}: {exc}") from None


def _dotted_keys(node: Any, prefix: str = "") -> list[str]:
    keys: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{prefix}.{key}" if prefix else str(key)
            keys.append(here)
            keys += _dotted_keys(value, here)
    return keys
