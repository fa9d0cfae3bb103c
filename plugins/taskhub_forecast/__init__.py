"""taskhub's time-series plugin (``task=forecast``): multi-step forecasts from past windows."""
from __future__ import annotations

from collections.abc import Callable

import taskhub


@taskhub.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    # By import path: listing plugins imports neither the task module nor torch.
    register("taskhub_forecast.task:ForecastTask", name="forecast", configs="taskhub_forecast.configs",
             metrics=("mae", "rmse", "mape", "naive_mae", "relative_mae"), objective=("val/mae", "min"))
