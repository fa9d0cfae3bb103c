"""Building the Optuna study from the ``sweep`` config: sampler, pruner, storage, direction."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf

from taskhub import UserError

DB_NAME = "optuna.db"
SAMPLERS = {
    "tpe": "TPESampler", "random": "RandomSampler", "grid": "GridSampler",
    "cmaes": "CmaEsSampler", "qmc": "QMCSampler",
}
PRUNERS = {
    "median": "MedianPruner", "percentile": "PercentilePruner", "hyperband": "HyperbandPruner",
    "halving": "SuccessiveHalvingPruner", "threshold": "ThresholdPruner", "none": "NopPruner",
}


def _args(node: Any) -> dict[str, Any]:
    if node is None:
        return {}
    return dict(OmegaConf.to_container(node, resolve=True)) if isinstance(node, DictConfig) else dict(node)


def build_sampler(sweep: DictConfig, grid: dict[str, list[Any]] | None = None) -> optuna.samplers.BaseSampler:
    name = str(sweep.get("sampler") or "tpe")
    if name not in SAMPLERS:
        raise UserError(f"sweep.sampler={name}: choose one of {', '.join(SAMPLERS)}")
    kwargs = _args(sweep.get("sampler_args"))
    if sweep.get("seed") is not None:
        kwargs.setdefault("seed", int(sweep.seed))
    if name == "grid":
        if not grid:
            raise UserError("sweep.sampler=grid needs a search space of choice(...) or range(...) values")
        kwargs["search_space"] = grid
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401  (Optuna imports it lazily and fails mid-sweep otherwise)
        except ImportError:
            raise UserError("sweep.sampler=cmaes needs the cmaes package: pip install cmaes") from None
    return getattr(optuna.samplers, SAMPLERS[name])(**kwargs)


def build_pruner(sweep: DictConfig) -> optuna.pruners.BasePruner:
    name = str(sweep.get("pruner") or "none")
    if name not in PRUNERS:
        raise UserError(f"sweep.pruner={name}: choose one of {', '.join(PRUNERS)}")
    return getattr(optuna.pruners, PRUNERS[name])(**_args(sweep.get("pruner_args")))


def storage_url(sweep: DictConfig, sweep_dir: Path) -> str:
    return str(sweep.get("storage") or f"sqlite:///{(sweep_dir / DB_NAME).resolve()}")


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An RDB storage; SQLite waits for its lock (parallel trials write to one file) instead of failing."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    return optuna.storages.RDBStorage(url, **kwargs)


def direction(cfg: DictConfig, task_objective: tuple[str, str]) -> tuple[str, str]:
    """(metric, "maximize"|"minimize"): ``trainer.monitor``/``trainer.mode`` as the engine resolves them."""
    explicit = cfg.sweep.get("direction")
    key = cfg.trainer.get("monitor") or task_objective[0]
    mode = cfg.trainer.get("mode") or (task_objective[1] if key == task_objective[0]
                                       else ("min" if key.endswith("loss") else "max"))
    if explicit:
        if explicit not in ("maximize", "minimize"):
            raise UserError(f"sweep.direction={explicit}: choose maximize or minimize")
        return key, str(explicit)
    return key, "maximize" if mode == "max" else "minimize"


def load_for_trial(sweep: DictConfig) -> optuna.Study:
    """The study as seen from inside one trial's process (only for reporting and pruning)."""
    return optuna.load_study(study_name=str(sweep.study_name), storage=open_storage(str(sweep.storage)),
                             sampler=optuna.samplers.RandomSampler(), pruner=build_pruner(sweep))
