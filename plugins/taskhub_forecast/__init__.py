"""taskhub's time-series plugin (``task=forecast``): multi-step forecasts from past windows."""
from __future__ import annotations

import taskhub


@taskhub.hookimpl
def register_tasks(register):
    from taskhub_forecast.task import ForecastTask

    register(ForecastTask)


@taskhub.hookimpl
def config_package(task):
    return "taskhub_forecast.configs" if task == "forecast" else None
