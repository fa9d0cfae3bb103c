"""Building the Optuna study from the ``sweep`` config: sampler, pruner, storage (heartbeats, the
workers' lock), direction."""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf

from taskhub import UserError, objective, require_extra

try:
    import fcntl
except ImportError:  # Windows: no lock file; one SQLite worker per study there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("taskhub")

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


def build_sampler(sweep: DictConfig, grid: dict[str, list[Any]] | None = None,
                  seed_offset: int = 0) -> optuna.samplers.BaseSampler:
    name = str(sweep.get("sampler") or "tpe")
    if name not in SAMPLERS:
        raise UserError(f"sweep.sampler={name}: choose one of {', '.join(SAMPLERS)}")
    kwargs = _args(sweep.get("sampler_args"))
    if sweep.get("seed") is not None:
        kwargs.setdefault("seed", int(sweep.seed) + seed_offset)
    if name == "grid":
        if not grid:
            raise UserError("sweep.sampler=grid needs a search space of choice(...) or range(...) values")
        kwargs["search_space"] = grid
    if name == "cmaes":
        require_extra("cmaes", "sweeps", "sweep.sampler=cmaes")  # Optuna imports it lazily and fails mid-sweep otherwise
    return getattr(optuna.samplers, SAMPLERS[name])(**kwargs)


def build_pruner(sweep: DictConfig) -> optuna.pruners.BasePruner:
    name = str(sweep.get("pruner") or "none")
    if name not in PRUNERS:
        raise UserError(f"sweep.pruner={name}: choose one of {', '.join(PRUNERS)}")
    return getattr(optuna.pruners, PRUNERS[name])(**_args(sweep.get("pruner_args")))


def storage_url(sweep: DictConfig, sweep_dir: Path) -> str:
    """``sweep.storage`` (any SQLAlchemy URL Optuna accepts), else the sweep directory's SQLite file.

    ``postgresql://`` names SQLAlchemy's default driver, psycopg2; with only psycopg 3 installed
    (taskhub's ``distributed`` extra) the URL is read as ``postgresql+psycopg://``.
    """
    return normalize_url(str(sweep.get("storage") or f"sqlite:///{(sweep_dir / DB_NAME).resolve()}"))


def normalize_url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")) and _has("psycopg") and not _has("psycopg2"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_shared(sweep: DictConfig) -> bool:
    """Whether the study lives in a storage other workers may use too (``sweep.storage`` is set)."""
    return bool(sweep.get("storage"))


def open_storage(url: str, sweep: DictConfig | None = None) -> optuna.storages.RDBStorage:
    """An RDB storage; SQLite waits for its lock (parallel trials write to one file) instead of failing.

    With ``sweep`` given and a shared storage, trials send heartbeats (``sweep.heartbeat`` seconds):
    a trial whose worker died stops beating and, ``sweep.grace_period`` seconds later, any worker
    marks it FAIL and queues ``sweep.retry_failed`` retries of its parameters (Optuna's
    ``RetryHeartbeatStaleTrialCallback``).
    """
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    else:
        kwargs["engine_kwargs"] = {"pool_pre_ping": True}
    interval = int(sweep.get("heartbeat") or 0) if sweep is not None and is_shared(sweep) else 0
    if interval > 0:
        retries = sweep.get("retry_failed")
        kwargs.update(heartbeat_interval=interval, grace_period=int(sweep.get("grace_period") or 2 * interval),
                      heartbeat_stale_trial_callback=_retry(retries))
    try:
        # Workers started together would each create Optuna's tables: one at a time (the others then
        # find them), or PostgreSQL refuses the second CREATE with a duplicate-key error.
        with warnings.catch_warnings(), database_lock(url, "schema"):
            # heartbeats are "experimental" since Optuna 2.8: still what it offers
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, **kwargs)
    except ModuleNotFoundError as exc:
        raise UserError(f"sweep.storage={safe_url(url)}: the database driver is missing ({exc.name}); "
                        "for PostgreSQL: pip install 'taskhub-dl[distributed]'") from None
    except Exception as exc:  # a wrong URL, host or password: say which setting
        if isinstance(exc, UserError):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"sweep.storage={safe_url(url)}: cannot open the study storage ({first})") from None


def _retry(retries: Any) -> Any:
    """Optuna's callback that queues a dead worker's trial again (``None``: retry without limit; 0: never)."""
    if retries is not None and int(retries) <= 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=None if retries is None else int(retries))


def ask_lock(storage: optuna.storages.RDBStorage, url: str, study_name: str) -> contextlib.AbstractContextManager:
    """One worker at a time counts the study's trials and asks for new ones, so that workers sharing
    a study start exactly ``sweep.n_trials`` trials between them."""
    return database_lock(url, study_name, storage.engine)


@contextlib.contextmanager
def database_lock(url: str, name: str, engine: Any = None) -> Iterator[None]:
    """A lock named ``name`` held across processes and machines on the study's database.

    PostgreSQL: a session advisory lock; MySQL: ``GET_LOCK``; SQLite: a lock file beside the
    database (SQLite is shared by processes of one machine only). Other databases: no lock.
    ``engine``: the storage's own; without it a short-lived engine is made for the lock.
    """
    key = int.from_bytes(hashlib.sha1(f"taskhub-sweep:{name}".encode()).digest()[:8], "big", signed=True)
    if url.startswith("sqlite:///") and fcntl is not None:
        suffix = ".lock" if engine is not None else f".{name}.lock"  # the study's ask lock: <db>.lock
        path = Path(url[len("sqlite:///"):] + suffix)
        if not path.parent.is_dir():  # nothing to guard yet: the storage will report the folder
            yield
            return
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    statements = {"postgresql": ("SELECT pg_advisory_lock(:key)", "SELECT pg_advisory_unlock(:key)"),
                  "mysql": ("SELECT GET_LOCK(:name, -1)", "SELECT RELEASE_LOCK(:name)")}.get(dialect)
    if statements is None:
        yield
        return
    import sqlalchemy

    params = {"key": key, "name": f"taskhub-{key & 0xFFFFFFFF:x}"}
    own = engine is None
    engine = sqlalchemy.create_engine(url) if own else engine
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(statements[0]), params)
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text(statements[1]), params)
                conn.commit()
    finally:
        if own:
            engine.dispose()


class Heartbeat:
    """Beats for the trials a worker is running, from a thread of the sweeper's process (the trial
    may run in it, in a joblib process or in a cluster job: the worker is what must be alive)."""

    def __init__(self, storage: optuna.storages.RDBStorage) -> None:
        self.storage, self.trial_ids = storage, set[int]()
        self.interval = storage.get_heartbeat_interval()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, trial_id: int) -> None:
        if self.interval:
            self.storage.record_heartbeat(trial_id)  # at once: a trial without any beat is never stale
            self.trial_ids.add(trial_id)

    def __enter__(self) -> "Heartbeat":
        if self.interval:
            self._stop.clear()
            self._thread = threading.Thread(target=self._beat, name="taskhub-sweep-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.trial_ids.clear()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            for trial_id in list(self.trial_ids):
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception as exc:  # a database hiccup: the next beat may work
                    log.warning("optuna: heartbeat of trial id %d failed: %s", trial_id, exc)


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return head + sep + rest


def direction(cfg: DictConfig) -> tuple[str, str]:
    """(metric, "maximize"|"minimize"): ``taskhub.objective`` (what the trials' runs optimise),
    unless ``sweep.direction`` says otherwise."""
    key, mode = objective(cfg)
    explicit = cfg.sweep.get("direction")
    if explicit:
        if explicit not in ("maximize", "minimize"):
            raise UserError(f"sweep.direction={explicit}: choose maximize or minimize")
        return key, str(explicit)
    return key, "maximize" if mode == "max" else "minimize"


def load_for_trial(sweep: DictConfig) -> optuna.Study:
    """The study as seen from inside one trial's process (only for reporting and pruning)."""
    return optuna.load_study(study_name=str(sweep.study_name), storage=open_storage(str(sweep.storage)),
                             sampler=optuna.samplers.RandomSampler(), pruner=build_pruner(sweep))
