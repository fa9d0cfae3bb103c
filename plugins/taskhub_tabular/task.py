"""Tabular classification and regression: the Task that ties the MLP, table sources and metrics to the engine."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

Stage = Literal["fit", "eval"]

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig

from taskhub import Run, Task, UserError, require_extra
from taskhub.data import BadInputs, DataDescription, InMemoryDataset, Splits, build_splits, require_file
from taskhub.plots import curve_metrics, plot_classification, plot_predicted_vs_actual
from taskhub_tabular.encoding import Encoder

if TYPE_CHECKING:
    from torchmetrics import MetricCollection  # imported by build_metrics: not needed before validation


class TabularTask(Task):
    """Predict a label column from feature columns.

    Two classes use one logit and binary cross-entropy (the spec's sigmoid output), more
    classes use softmax cross-entropy, and regression uses MSE on a target standardised
    with training statistics (metrics are reported in the original units).
    """

    name = "tabular"
    objective = ("val/accuracy", "max")
    metrics = ("accuracy", "f1", "auroc", "mae", "rmse", "r2")

    @classmethod
    def objective_for(cls, cfg: DictConfig) -> tuple[str, str]:
        """Regression optimises RMSE: known from ``task.kind``, or (``auto``) from the training label,
        read the way a run reads it (a sweeper needs this before any trial runs)."""
        kind = str(cfg.task.get("kind", "auto"))
        if kind == "auto":
            import copy

            probe = cls(copy.deepcopy(cfg))
            probe.build_data("fit")
            return probe.objective
        return ("val/rmse", "min") if kind == "regression" else ("val/accuracy", "max")

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__(cfg)
        self.encoder: Encoder | None = None

    # --- building -------------------------------------------------------------------------
    def build_data(self, stage: Stage) -> Splits:
        frames = build_splits(self.cfg.dataset)
        info = frames.info
        source, lines = info["source"], bool(info.get("file_lines"))
        bad = BadInputs(str(self.cfg.dataset.get("on_bad", "error")))
        fitted_now = self.encoder is None
        if self.encoder is None:  # fit on the training split only; eval and resume reuse the checkpoint's
            if stage != "fit" or frames.train is None:
                raise UserError("tabular: no fitted state to evaluate with; pass a checkpoint (ckpt=PATH)")
            self.encoder = Encoder.fit(frames.train, info["label"], info["features"], info["categorical"],
                                       str(self.cfg.task.get("kind", "auto")), str(self.cfg.dataset.get("missing", "mean")),
                                       source, bad=bad, lines=lines)
            self._set_objective()
        elif info["label"] != self.encoder.label:
            raise UserError(f"dataset.label={info['label']}: the checkpoint was trained to predict '{self.encoder.label}'")
        splits = Splits(info={**info, "kind": self.encoder.kind, "classes": list(self.encoder.classes)})
        for name in ("train", "val", "test"):
            frame = getattr(frames, name)
            if frame is None or len(frame) == 0 or (stage == "eval" and name == "train"):
                continue
            where = info.get("sources", {}).get(name) or f"{source} ({name} split)"
            # The training rows were checked while fitting; checking again would count them twice.
            split_bad = BadInputs("skip") if name == "train" and fitted_now else bad
            setattr(splits, name, InMemoryDataset(self.encoder.encode(frame, where, bad=split_bad, lines=lines)))
        bad.warn("rows")
        splits.skipped = bad.skipped
        return splits

    def _set_objective(self) -> None:
        # Which metric to optimise depends on the data (auto kind), so it is set per instance.
        assert self.encoder is not None
        self.objective = ("val/accuracy", "max") if self.encoder.kind == "classification" else ("val/rmse", "min")

    @property
    def _outputs(self) -> int:
        assert self.encoder is not None
        n = len(self.encoder.classes)
        return 1 if self.encoder.kind == "regression" or n == 2 else n

    def build_model(self) -> torch.nn.Module:
        assert self.encoder is not None, "build_data (or load_state_dict) must run first"
        return instantiate(self.cfg.model, in_features=len(self.encoder.numeric), out_features=self._outputs,
                           cardinalities=self.encoder.cardinalities)

    def build_metrics(self) -> MetricCollection:
        from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score
        from torchmetrics.classification import (BinaryAccuracy, BinaryAUROC, BinaryConfusionMatrix, BinaryF1Score,
                                                 MulticlassAccuracy, MulticlassAUROC, MulticlassConfusionMatrix,
                                                 MulticlassF1Score)

        assert self.encoder is not None
        if self.encoder.kind == "regression":
            return MetricCollection({"mae": MeanAbsoluteError(), "rmse": MeanSquaredError(squared=False),
                                     "r2": R2Score()})
        n = len(self.encoder.classes)
        curves = curve_metrics(n)  # ROC and PR curves for the run directory's plots
        if n == 2:
            return MetricCollection({"accuracy": BinaryAccuracy(), "f1": BinaryF1Score(), "auroc": BinaryAUROC(),
                                     "confusion_matrix": BinaryConfusionMatrix(), **curves})
        return MetricCollection({"accuracy": MulticlassAccuracy(num_classes=n, average="micro"),
                                 "f1": MulticlassF1Score(num_classes=n, average="macro"),
                                 "auroc": MulticlassAUROC(num_classes=n),
                                 "confusion_matrix": MulticlassConfusionMatrix(num_classes=n), **curves})

    # --- steps ----------------------------------------------------------------------------
    def _loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out = out.float()
        if self.encoder.kind == "regression":
            return F.mse_loss(out.squeeze(-1), target)
        if out.shape[-1] == 1:
            return F.binary_cross_entropy_with_logits(out.squeeze(-1), target.float())
        return F.cross_entropy(out, target)

    def training_step(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        return self._loss(model(batch["num"], batch["cat"]), batch["target"])

    def evaluation_step(self, model: torch.nn.Module, batch: Any, metrics: MetricCollection) -> torch.Tensor:
        out = model(batch["num"], batch["cat"]).float()
        target = batch["target"]
        if self.encoder.kind == "regression":
            scale = self.encoder.target_std
            metrics.update(out.squeeze(-1) * scale + self.encoder.target_mean, target * scale + self.encoder.target_mean)
        elif out.shape[-1] == 1:
            metrics.update(out.squeeze(-1).sigmoid(), target)
        else:
            metrics.update(out.softmax(-1), target)
        return self._loss(out, target)

    def predict(self, model: torch.nn.Module, inputs: Any) -> Iterable[dict[str, Any]]:
        """Raw feature rows: a DataFrame, dicts (column -> value), arrays/lists in training column order,
        or .csv/.parquet file paths."""
        enc = self.encoder
        frame = enc.clean(rows_frame(inputs, enc.features), "predict input", with_label=False)
        device = next(model.parameters()).device
        tensors = {k: v.to(device) for k, v in enc.features_tensors(frame).items()}
        out = model(tensors["num"], tensors["cat"]).float().cpu()
        if enc.kind == "regression":
            for value in (out.squeeze(-1) * enc.target_std + enc.target_mean).tolist():
                yield {"prediction": value}
            return
        probs = torch.cat([1 - out.sigmoid(), out.sigmoid()], -1) if out.shape[-1] == 1 else out.softmax(-1)
        for row in probs.tolist():
            best = int(np.argmax(row))
            yield {"label": enc.classes[best],
                   "probabilities": {str(c): round(p, 6) for c, p in zip(enc.classes, row)}}

    # --- artefacts -------------------------------------------------------------------------
    def plots(self, run: Run) -> None:
        """Classification: confusion matrices, per-class scores, ROC and PR curves; regression:
        predicted against actual values and the residuals, on the test split (else validation)."""
        enc = self.encoder
        if enc is None:
            return
        split = "test" if run.results.get("test") else "val"
        title = f"tabular / {run.choices.get('model') or self.model_name()} / {run.choices.get('dataset', '')}"
        if enc.kind == "classification":
            plot_classification(run.dir, run.results.get(split, {}), split, [str(c) for c in enc.classes], title)
            return
        data = getattr(run.data, split, None) if run.data is not None else None
        if data is None:
            return
        model = run.model.eval()
        with torch.inference_mode():
            t = {k: v.to(run.device) for k, v in data.tensors.items()}
            out = model(t["num"], t["cat"]).float().squeeze(-1).cpu()
        scale, shift = enc.target_std, enc.target_mean
        plot_predicted_vs_actual(run.dir / "predicted_vs_actual.png", (out * scale + shift).numpy(),
                                 (t["target"].cpu() * scale + shift).numpy(), f"{title}: {split} '{enc.label}'")

    # --- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"encoder": self.encoder.state_dict() if self.encoder else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("encoder"):
            self.encoder = Encoder.from_state(state["encoder"])
            self._set_objective()

    def export_spec(self, model: torch.nn.Module, batch: Any) -> Any:
        from taskhub_tabular.export import export_spec

        return export_spec(self, model, batch)

    def describe_data(self, data: Splits, samples: int = 16) -> DataDescription:  # for taskhub data check
        from taskhub_tabular.data_check import describe

        return describe(self, data, samples)


def read_rows(path: str | Path) -> pd.DataFrame:
    """Rows to predict from a .csv or .parquet file."""
    p = require_file(path, "input file")
    parquet = p.suffix.lower() in (".parquet", ".pq")
    if parquet:
        require_extra("pyarrow", "parquet", f"input={path} (a parquet file)")
    try:
        return pd.read_parquet(p) if parquet else pd.read_csv(p)
    except Exception as exc:  # the user needs the file and the reason, not pandas' traceback
        raise UserError(f"{path}: cannot read rows ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def rows_frame(inputs: Any, features: list[str]) -> pd.DataFrame:
    """Feature rows in any of the accepted shapes as a DataFrame with the training columns."""
    if isinstance(inputs, pd.DataFrame):
        return inputs.reset_index(drop=True)
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if isinstance(inputs, list) and inputs and all(isinstance(x, (str, Path)) for x in inputs):
        # ``taskhub predict ckpt=... input=rows.csv``: files of rows (extra columns, the label included, are ignored)
        return pd.concat([read_rows(x) for x in inputs], ignore_index=True)
    if isinstance(inputs, Mapping):
        inputs = [inputs]
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.cpu().numpy()
    rows = list(inputs)
    if rows and all(isinstance(r, Mapping) for r in rows):
        return pd.DataFrame(rows)
    array = np.asarray(rows, dtype=object)
    if array.ndim == 1:  # one row given flat
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != len(features):
        raise UserError(f"predict: each row needs {len(features)} values in the order {features[:20]}, "
                        f"got shape {tuple(array.shape)}; or pass dicts / a DataFrame with those columns")
    frame = pd.DataFrame(array, columns=features)
    return frame.infer_objects()
