"""The Task contract: everything the engine knows about a kind of problem.

A plugin subclasses :class:`Task` and registers it with the ``register_tasks`` hook. The
engine calls only these methods, so a new task never needs an engine change. One instance
serves one run; it holds the run's config and any state fitted on the training split
(label names, a tokenizer, a scaler), which checkpoints carry through ``state_dict``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    import torch
    from omegaconf import DictConfig
    from torch.utils.data import Dataset
    from torchmetrics import MetricCollection

    from taskhub.engine.run import Run

Stage = Literal["fit", "eval"]


@dataclass
class Data:
    """The datasets of one run.

    A :class:`taskhub.data.InMemoryDataset` without a per-sample transform is batched by
    slicing its tensors (no per-sample DataLoader overhead); any other ``Dataset`` streams
    through a ``DataLoader`` with ``collate`` and the dataset config's ``num_workers``.
    """

    train: Dataset | None
    val: Dataset | None
    test: Dataset | None = None
    collate: Callable[[list[Any]], Any] | None = None


class Task:
    """Base class of every task. Subclasses set ``name`` and implement the methods below."""

    name: ClassVar[str] = ""
    #: (metric key, "max" | "min"): what best checkpoints, early stopping and sweeps optimise.
    objective: ClassVar[tuple[str, str]] = ("val/loss", "min")
    #: the metric names this task reports (``test/<name>`` in summary.json), for ``taskhub plugins``.
    metrics: ClassVar[tuple[str, ...]] = ()

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg

    # --- building -------------------------------------------------------------------------
    def build_data(self, stage: Stage) -> Data:
        """Build the datasets from ``self.cfg.dataset``.

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
