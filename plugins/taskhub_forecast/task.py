"""Time-series forecasting: the Task that ties windows, forecast models and metrics to the engine."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig

from taskhub import Run, Task, UserError
from taskhub.data import DataDescription, InMemoryDataset, Splits, build_splits, require_file
from taskhub_forecast.datasets import Series, from_frame
from taskhub_forecast.windows import make_windows, seasonal_naive, window_starts

if TYPE_CHECKING:
    from torchmetrics import MetricCollection  # imported by build_metrics: not needed before validation


Stage = Literal["fit", "eval"]


class ForecastTask(Task):
    """Forecast the next ``horizon`` steps of every value column from the last ``input_length``.

    Values are standardised per column with training-range statistics. With
    ``task.window_norm=last`` each window is also shifted by its last observed value (and the
    forecast shifted back), so a trend that carries the test range above anything seen in
    training does not push the model off its inputs. Metrics are in the data's units, and every
    evaluation reports the seasonal-naive baseline beside the model.
    """

    name = "forecast"
    objective = ("val/mae", "min")
    metrics = ("mae", "rmse", "mape", "naive_mae", "relative_mae")

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__(cfg)
        self.columns: list[str] = []
        self.mean: list[float] = []
        self.std: list[float] = []
        self.series: Series | None = None  # kept for plots (not checkpointed: it is data)
        t = cfg.task
        self.input_length, self.horizon = int(t.input_length), int(t.horizon)
        self.stride, self.season = int(t.get("stride", 1)), int(t.get("season") or 1)
        self.window_norm = str(t.get("window_norm", "last"))
        if self.window_norm not in ("last", "none"):
            raise UserError(f"task.window_norm={self.window_norm}: choose last or none")
        # Fail before training, not at the first validation, when the baseline cannot be formed.
        seasonal_naive(torch.zeros(1, self.input_length, 1), self.horizon, self.season)

    # --- building -------------------------------------------------------------------------
    def build_data(self, stage: Stage) -> Splits:
        series = Series.from_splits(build_splits(self.cfg.dataset))
        if not self.columns:  # fit: statistics of the training range only; eval and resume reuse them
            if stage != "fit":
                raise UserError("forecast: no fitted state to evaluate with; pass a checkpoint (ckpt=PATH)")
            train = series.values[: series.train_end]
            self.columns = list(series.columns)
            self.mean = train.mean(axis=0).tolist()
            self.std = np.where(train.std(axis=0) > 0, train.std(axis=0), 1.0).tolist()
        elif list(series.columns) != self.columns:
            raise UserError(f"{series.source}: value columns {series.columns} differ from the checkpoint's {self.columns}")
        self.series = series
        scaled = self.scale(series.values)
        bounds = {"train": (0, series.train_end), "val": (series.train_end, series.val_end),
                  "test": (series.val_end, len(scaled))}
        splits = Splits(info={"columns": self.columns, "source": series.source, "length": len(scaled),
                              "ranges": {name: end - begin for name, (begin, end) in bounds.items()}})
        for name, (begin, end) in bounds.items():
            starts = window_starts(begin, end, self.input_length, self.horizon, self.stride if name == "train" else 1)
            if stage == "eval" and name == "train" or len(starts) == 0:
                continue
            setattr(splits, name, InMemoryDataset(make_windows(scaled, starts, self.input_length, self.horizon)))
        if splits.train is None and stage == "fit":
            raise UserError(f"{series.source}: the training range ({series.train_end} steps) is shorter than one window "
                            f"(input_length {self.input_length} + horizon {self.horizon}); use a longer series or "
                            "smaller task.input_length / task.horizon")
        return splits

    def scale(self, values: np.ndarray) -> np.ndarray:
        return (values - np.asarray(self.mean)) / np.asarray(self.std)

    def build_model(self) -> torch.nn.Module:
        n = len(self.columns)
        return instantiate(self.cfg.model, in_channels=n, out_channels=n, horizon=self.horizon,
                           input_length=self.input_length)

    def build_metrics(self) -> MetricCollection:
        from torchmetrics import MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, MetricCollection

        from taskhub_forecast.metrics import RelativeMAE

        # Updated one by one (the naive baseline takes other inputs), hence no compute groups.
        return MetricCollection({"mae": MeanAbsoluteError(), "rmse": MeanSquaredError(squared=False),
                                 "mape": MeanAbsolutePercentageError(), "naive_mae": MeanAbsoluteError(),
                                 "relative_mae": RelativeMAE()}, compute_groups=False)

    # --- steps ----------------------------------------------------------------------------
    def forward(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Scaled forecast [batch, horizon, channels] of scaled windows ``x``."""
        if self.window_norm == "none":
            return model(x).float()
        last = x[:, -1:, :]
        return model(x - last).float() + last

    def training_step(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        return F.mse_loss(self.forward(model, batch["x"]), batch["y"])

    def _unscale(self, t: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, device=t.device, dtype=t.dtype)
        std = torch.tensor(self.std, device=t.device, dtype=t.dtype)
        return t * std + mean

    def evaluation_step(self, model: torch.nn.Module, batch: Any, metrics: MetricCollection) -> torch.Tensor:
        pred = self.forward(model, batch["x"])
        naive = seasonal_naive(batch["x"], self.horizon, self.season)
        truth = self._unscale(batch["y"].float())
        pred_raw, naive_raw = self._unscale(pred), self._unscale(naive.float())
        for key in ("mae", "rmse", "mape"):
            metrics[key].update(pred_raw.flatten(), truth.flatten())
        metrics["naive_mae"].update(naive_raw.flatten(), truth.flatten())
        metrics["relative_mae"].update(pred_raw, naive_raw, truth)
        return F.mse_loss(pred, batch["y"])

    def predict(self, model: torch.nn.Module, inputs: Any) -> Iterable[dict[str, Any]]:
        """The next ``horizon`` values after each series: a 1-D/2-D array or list, a pandas
        Series or DataFrame (value columns by name), a CSV path, or a list of those. Uses the last ``input_length`` steps."""
        device = next(model.parameters()).device
        for i, series in enumerate(_as_series_list(inputs)):
            if isinstance(series, (str, Path)):  # ``taskhub predict ckpt=... input=history.csv``
                series = self._read(series)
            values = self._values(series, i)
            x = torch.tensor(self.scale(values[-self.input_length:]), dtype=torch.float32, device=device)[None]
            forecast = self._unscale(self.forward(model, x))[0].cpu()
            naive = self._unscale(seasonal_naive(x, self.horizon, self.season).float())[0].cpu()
            single = len(self.columns) == 1
            yield {"input": i, "columns": self.columns,
                   "forecast": forecast[:, 0].tolist() if single else forecast.tolist(),
                   "seasonal_naive": naive[:, 0].tolist() if single else naive.tolist()}

    def _read(self, path: str | Path) -> pd.DataFrame:
        """A history CSV, ordered by the training config's time column when it has one."""
        time_column = self.cfg.dataset.get("time_column")
        columns = self.columns if self.columns != ["value"] else None
        p = require_file(path, "input file")
        frame = pd.read_csv(p)
        return pd.DataFrame(from_frame(frame, time_column if time_column in frame.columns else None, columns,
                                       str(path), 0, 0).values, columns=self.columns)

    def _values(self, series: Any, i: int) -> np.ndarray:
        if isinstance(series, pd.DataFrame):
            missing = [c for c in self.columns if c not in series.columns]
            if missing and series.shape[1] != len(self.columns):
                raise UserError(f"predict input {i}: no column(s) {missing}; the model forecasts {self.columns}")
            series = series[self.columns] if not missing else series
        values = np.asarray(series, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(self.columns):
            raise UserError(f"predict input {i}: expected a series of {len(self.columns)} column(s), got shape {values.shape}")
        if len(values) < self.input_length:
            raise UserError(f"predict input {i}: {len(values)} steps, the model reads the last {self.input_length}")
        return values

    # --- artefacts and state --------------------------------------------------------------
    def plots(self, run: Run) -> None:
        if self.series is None or run.data is None or run.data.test is None:
            return
        from taskhub.plots import plot_predicted_vs_actual
        from taskhub_forecast.plots import plot_forecast

        test = run.data.test.tensors
        every = torch.arange(0, len(test["t"]), self.horizon)  # non-overlapping windows tile the test range
        model = run.model.eval()
        with torch.inference_mode():
            x = test["x"][every].to(run.device)
            pred = self._unscale(self.forward(model, x)).cpu()
            naive = self._unscale(seasonal_naive(x, self.horizon, self.season).float()).cpu()
        steps = (test["t"][every][:, None] + torch.arange(self.horizon)[None]).flatten().numpy()
        plot_forecast(run.dir / "forecast.png", self.series, steps, pred.flatten(0, 1).numpy(),
                      naive.flatten(0, 1).numpy(), context=self.input_length * 2)
        truth = self._unscale(test["y"][every].to(run.device).float()).cpu()
        plot_predicted_vs_actual(run.dir / "predicted_vs_actual.png", pred.numpy(), truth.numpy(),
                                 f"forecast / {run.choices.get('model') or self.model_name()}: test, "
                                 f"{self.horizon} steps ahead")

    def state_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "mean": self.mean, "std": self.std}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.columns, self.mean, self.std = list(state["columns"]), list(state["mean"]), list(state["std"])

    def export_spec(self, model: torch.nn.Module, batch: Any) -> Any:
        from taskhub_forecast.export import export_spec

        return export_spec(self, model, batch)

    def describe_data(self, data: Splits, samples: int = 16) -> DataDescription:  # for taskhub data check
        from taskhub_forecast.data_check import describe

        return describe(self, data, samples)


def _as_series_list(inputs: Any) -> list[Any]:
    """One series (array, tensor, frame, or a flat list of numbers) or a list of series."""
    if isinstance(inputs, (pd.DataFrame, pd.Series, np.ndarray, torch.Tensor, str, Path)):
        return [inputs]
    items = list(inputs)
    if items and all((np.isscalar(v) and not isinstance(v, str)) or getattr(v, "ndim", None) == 0 for v in items):
        return [items]
    return items
