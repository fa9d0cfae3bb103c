"""The search space: Hydra's sweep syntax (``choice``, ``range``, ``interval``, ``tag(log, ...)``)
turned into Optuna distributions, and trial parameters turned back into overrides."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep

from taskhub import UserError

Distribution = optuna.distributions.BaseDistribution


@dataclass
class SearchSpace:
    """What varies (``distributions``) and what every trial shares (``fixed`` overrides, verbatim)."""

    distributions: dict[str, Distribution] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)

    def grid(self) -> dict[str, list[Any]]:
        """The values each parameter takes under the grid sampler (intervals have none)."""
        values: dict[str, list[Any]] = {}
        for name, dist in self.distributions.items():
            if isinstance(dist, optuna.distributions.CategoricalDistribution):
                values[name] = list(dist.choices)
            elif isinstance(dist, optuna.distributions.IntDistribution) and not dist.log:
                values[name] = list(range(dist.low, dist.high + 1, dist.step))
            elif isinstance(dist, optuna.distributions.FloatDistribution) and dist.step is not None:
                n = int(round((dist.high - dist.low) / dist.step))
                values[name] = [dist.low + i * dist.step for i in range(n + 1)]
            else:
                raise UserError(f"sweep.sampler=grid: {name} is an interval; use choice(...) or range(...)")
        return values


def parse(arguments: Iterable[str], config_params: Mapping[str, Any] | None = None) -> SearchSpace:
    """Split ``arguments`` (the command's overrides) and ``sweep.params`` into a search space.

    Command-line entries win over ``sweep.params`` entries for the same key.
    """
    lines = [f"{k}={v}" for k, v in (config_params or {}).items()]
    given = {line.partition("=")[0] for line in arguments}
    lines = [line for line in lines if line.partition("=")[0] not in given] + list(arguments)
    try:
        overrides = OverridesParser.create().parse_overrides(lines)
    except Exception as exc:
        raise UserError(f"cannot parse the search space: {str(exc).splitlines()[0]}") from None
    space = SearchSpace()
    for override in overrides:
        if override.is_sweep_override():
            space.distributions[override.get_key_element()] = to_distribution(override)
        else:
            space.fixed.append(override.input_line)
    return space


def to_distribution(override: Override) -> Distribution:
    """One sweep override as an Optuna distribution."""
    key, value = override.get_key_element(), override.value()
    log = "log" in getattr(value, "tags", set())
    if isinstance(value, ChoiceSweep):
        choices = list(value.list)
        for choice in choices:
            if not (choice is None or isinstance(choice, (bool, int, float, str))):
                raise UserError(f"{key}: choice values must be numbers, strings, booleans or null")
        return optuna.distributions.CategoricalDistribution(choices)
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step
        if all(isinstance(x, int) for x in (start, stop, step)):
            last = stop - 1 if step > 0 else stop + 1
            low, high = min(start, last), max(start, last)
            return optuna.distributions.IntDistribution(low, high, step=abs(step))
        n = int(round((stop - start) / step))
        values = [start + i * step for i in range(n)]
        return optuna.distributions.FloatDistribution(min(values), max(values), step=abs(step))
    if isinstance(value, IntervalSweep):
        start, end = value.start, value.end
        if "int" in value.tags:  # Hydra parses interval bounds as floats: tag(int, interval(1, 8))
            return optuna.distributions.IntDistribution(int(start), int(end), log=log)
        return optuna.distributions.FloatDistribution(float(start), float(end), log=log)
    raise UserError(f"{key}: unsupported sweep {override.input_line}")


def as_overrides(params: Mapping[str, Any]) -> list[str]:
    """Trial parameters as Hydra overrides (``optimizer.lr=0.0031``, ``model=mlp``)."""
    return [f"{key}={format_value(value)}" for key, value in params.items()]


def format_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and not _plain(value):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def _plain(text: str) -> bool:
    return bool(text) and all(c.isalnum() or c in "_-./:" for c in text)
