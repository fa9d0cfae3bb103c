"""The Task contract: everything the engine knows about a kind of problem.

A plugin subclasses :class:`Task` and registers it with the ``register_tasks`` hook. The
engine calls only these methods, so a new task never needs an engine change. One instance
serves one run; it holds the run's config and any state fitted on the training split
(label names, a tokenizer, a scaler), which checkpoints carry through ``state_dict``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
import warnings
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from taskhub.data.contract import Splits

if TYPE_CHECKING:
    import torch
    from omegaconf import DictConfig
    from torch.utils.data import Dataset
    from torchmetrics import MetricCollection

    from pathlib import Path

    from taskhub.data.description import DataDescription
    from taskhub.export.spec import ExportSpec
    from taskhub.run_state import Run

Stage = Literal["fit", "eval"]
log = logging.getLogger("taskhub")
AUTO = "auto"


def is_auto(value: Any) -> bool:
    """Whether a setting's value asks the task to choose it from the data (``auto``)."""
    return isinstance(value, str) and value.strip().lower() == AUTO


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Data(Splits):
    """Deprecated since 0.2: return :class:`taskhub.data.Splits` (which adds ``info``).

    Kept so that plugins written against 0.1 still run: ``Data(train, val, test, collate)``.
    """

    def __init__(self, train: Dataset | None, val: Dataset | None, test: Dataset | None = None,
                 collate: Callable[[list[Any]], Any] | None = None) -> None:
        warnings.warn("taskhub.Data is deprecated: return taskhub.data.Splits(train, val, test, info=..., collate=...)",
                      DeprecationWarning, stacklevel=2)
        super().__init__(train=train, val=val, test=test, collate=collate)


class Task:
    """Base class of every task. Subclasses set ``name`` and implement the methods below."""

    name: ClassVar[str] = ""
    #: (metric key, "max" | "min"): what best checkpoints, early stopping and sweeps optimise.
    objective: ClassVar[tuple[str, str]] = ("val/loss", "min")
    #: the metric names this task reports (``test/<name>`` in summary.json), for ``taskhub plugins``.
    metrics: ClassVar[tuple[str, ...]] = ()
    #: dataset settings the task reads itself (``augment``), not its dataset builder: the engine's
    #: early check of dataset settings (unknown keys, wrong types) lets these through.
    dataset_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def objective_for(cls, cfg: DictConfig) -> tuple[str, str]:
        """The objective a run of ``cfg`` will have, known before the run starts (a sweeper creates
        its study from it). The default is :attr:`objective`; override it when the objective
        depends on the config or the data (tabular: regression optimises ``val/rmse``). It must
        agree with the instance's ``objective`` after ``build_data``. Callers use
        :func:`taskhub.objective`, which also applies ``trainer.monitor``/``trainer.mode``.
        """
        return cls.objective

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        #: settings chosen from the data: {"dataset.image_size": {"value": 32, "reason": "..."}}.
        #: Checkpoints carry it, so eval, predict and resume reuse the values instead of re-choosing.
        self.resolved: dict[str, dict[str, Any]] = {}

    # --- settings chosen from the data ----------------------------------------------------
    def resolve_auto(self, key: str, choose: Callable[[], tuple[Any, str]]) -> Any:
        """The value of setting ``key`` (dotted, e.g. ``"dataset.image_size"``).

        A user's explicit value wins. When it is ``auto``, ``choose()`` returns ``(value, reason)``
        from the training split; the value is written into the run's config (so the resolved
        config and checkpoints hold it), logged as ``key=value (reason)``, and recorded in
        :attr:`resolved` (summary.json's ``auto``). A value resolved earlier (restored from a
        checkpoint by :meth:`restore_resolved`) is reused and ``choose`` is not called.
        """
        from omegaconf import OmegaConf, open_dict

        current = OmegaConf.select(self.cfg, key)
        if key in self.resolved:
            value, reason = self.resolved[key]["value"], "from the checkpoint"
        elif is_auto(current):
            value, reason = choose()
            self.resolved[key] = {"value": value, "reason": reason}
        else:
            return current
        with open_dict(self.cfg):
            OmegaConf.update(self.cfg, key, value, force_add=True)
        log.info("%s=%s (%s)", key.rsplit(".", 1)[-1] if key.startswith("dataset.") else key, _short(value), reason)
        return OmegaConf.select(self.cfg, key)

    def restore_resolved(self, resolved: dict[str, Any]) -> None:
        """Reuse the values a checkpoint's run chose (``{key: {"value": ..., "reason": ...}}``)."""
        self.resolved.update({k: dict(v) for k, v in (resolved or {}).items()})

    # --- building -------------------------------------------------------------------------
    def build_data(self, stage: Stage) -> Splits:
        """Build the datasets from ``self.cfg.dataset`` (usually ``taskhub.data.build_splits``).

        Resolve ``auto`` settings here, from the training split, with :meth:`resolve_auto`.
        ``stage="fit"``: fit the task's state on the training split (labels, tokenizer, scaler).
        ``stage="eval"``: the state was loaded from a checkpoint; reuse it (map labels by name,
        never refit) and build at least ``val`` and ``test``.
        """
        raise NotImplementedError

    def build_model(self) -> torch.nn.Module:
        """Build the model from ``self.cfg.model`` and the fitted state (classes, vocabulary)."""
        raise NotImplementedError

    def build_metrics(self) -> MetricCollection:
        """Fresh torchmetrics for one evaluation pass. Keys become ``<split>/<key>``.

        Scalar results go to metrics.csv and summary.json; others (a confusion matrix) are
        kept in ``run.results`` for :meth:`plots`.
        """
        raise NotImplementedError

    # --- steps ----------------------------------------------------------------------------
    def training_step(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        """Return the loss of one batch (already on the run's device)."""
        raise NotImplementedError

    def evaluation_step(self, model: torch.nn.Module, batch: Any, metrics: MetricCollection) -> torch.Tensor | None:
        """Update ``metrics`` with one batch and return its mean loss (or None)."""
        raise NotImplementedError

    def predict(self, model: torch.nn.Module, inputs: Sequence[Any]) -> Iterable[dict[str, Any]]:
        """Predict raw inputs (file paths, strings, arrays): one JSON-serialisable dict each."""
        raise NotImplementedError

    # --- artefacts and state --------------------------------------------------------------
    def plots(self, run: Run) -> None:
        """Write task-specific pictures into ``run.dir`` (confusion matrix, drawn boxes...)."""

    def state_dict(self) -> dict[str, Any]:
        """Fitted state that eval and predict need (tensors, lists, strings, numbers only)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def batch_size(self, batch: Any) -> int:
        """How many samples ``batch`` holds (for loss averaging and samples/second).

        The default reads the first tensor of a tensor, dict or tuple batch; override it for
        other shapes (e.g. detection's list of images).
        """
        from taskhub.engine.batches import batch_length

        return batch_length(batch)

    def model_name(self) -> str:
        """A short name for summaries: the model config's choice, else its target class."""
        target = str(self.cfg.model.get("_target_", "model")) if "model" in self.cfg else "model"
        return target.rsplit(".", 1)[-1]

    # --- export (``taskhub export``, ``predict bundle=``, ``serve``: see docs/export.md) -----
    def export_spec(self, model: torch.nn.Module, batch: Any) -> ExportSpec | None:
        """What ``taskhub export`` traces and writes, or None (the default): the task does not export.

        ``batch`` is a real validation batch as :meth:`evaluation_step` gets it (on the CPU);
        take the example inputs from it. Return a :class:`taskhub.ExportSpec`: the network,
        its named inputs and outputs, the dynamic axes, and the fitted state as JSON and files.
        """
        return None

    def load_bundle_state(self, state: dict[str, Any], folder: Path) -> None:
        """Restore fitted state from a bundle: ``state`` is ExportSpec.state (from state.json) and
        ``folder`` holds ExportSpec.files. The default hands ``state`` to :meth:`load_state_dict`."""
        self.load_state_dict(state)

    def bundle_model(self, network: torch.nn.Module) -> torch.nn.Module:
        """The model :meth:`predict` runs on for a bundle. ``network`` is the exported file behind
        an ``nn.Module`` (onnxruntime inside; called like ExportSpec.module, returns tensors), so the
        bundle reuses this task's own pre- and post-processing and agrees with eager predict.
        The default returns ``network``; a task that exported part of its model (detection's
        network without box decoding) wraps it here in the rest, built from the fitted state."""
        return network

    # --- looking at the data ----------------------------------------------------------------
    def describe_data(self, data: Splits, samples: int = 16) -> DataDescription:
        """What ``taskhub data check`` (and the check at the start of every run) reads about ``data``,
        the splits :meth:`build_data` returned: per split the examples, the per-class counts (or
        box counts, ``count_unit="boxes"``), lengths (tokens, seconds), item sizes, a content hash
        per example (train/test duplicates) and column ranges; up to ``samples`` examples to draw
        (0: none, as at the start of a run: do not decode anything for pictures then).

        The default, :func:`taskhub.data.describe_splits`, uses ``data.info["labels"]`` and
        introspects the datasets (InMemoryDataset tensors, a ``label``/``labels``/``target`` column,
        a ``files`` attribute hashed by content). Override it where the task knows more; build on
        the default and add to it (``notes`` for warnings, ``problems`` for what makes data unusable).
        """
        from taskhub.data.description import describe_splits

        return describe_splits(data, samples=samples)


def objective(cfg: DictConfig, task: Task | None = None) -> tuple[str, str]:
    """(metric key, ``"min"`` | ``"max"``): what a run of ``cfg`` optimises.

    The one rule the engine (best checkpoint, early stopping, plateau schedulers) and sweepers
    (the study's direction, pruning) share: ``trainer.monitor``/``trainer.mode`` when set, else
    the task's objective: ``task.objective`` of a built task (the job's), else
    :meth:`Task.objective_for` of ``cfg.task.name``'s class (a sweeper's, before any job runs).
    A monitored key other than the task's own is minimised when it ends in ``loss``, else maximised.
    """
    from taskhub.errors import UserError

    trainer = cfg.get("trainer") or {}
    if task is not None:
        default = tuple(task.objective)
    else:
        from taskhub.plugins import get_host

        default = tuple(get_host().task_class(str(cfg.task.name)).objective_for(cfg))
    key = str(trainer.get("monitor") or default[0])
    mode = trainer.get("mode") or (default[1] if key == default[0] else ("min" if key.endswith("loss") else "max"))
    if mode not in ("min", "max"):
        raise UserError(f"trainer.mode={mode}: choose min or max")
    return key, str(mode)
