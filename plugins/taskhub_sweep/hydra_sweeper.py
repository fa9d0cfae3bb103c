"""taskhub's Optuna sweeper, a Hydra ``Sweeper`` (``sweep=optuna`` selects it).

Each batch asks the study for ``n_jobs`` trials, launches them with Hydra's launcher (each
trial's run directory is ``<sweep dir>/<trial number>``) and tells the study how they ended:
complete (the job's returned objective), pruned (``summary.json`` says so: see
``pruning.py``) or failed (the error is kept as the trial's ``error`` attribute and in
``error.txt``; the sweep goes on). It stops when the study holds ``n_trials`` finished (complete
or pruned) trials, counting earlier sessions: rerunning a killed sweep's command continues it.

With ``sweep.storage`` set (PostgreSQL, MySQL: a database every worker reaches), any number of
sweeper processes on any machines work on one study (the same study name joins it): each asks
for trials under a database lock and counts the trials other workers are running, so together
they finish exactly ``n_trials``; pruners read every worker's trials; a trial whose worker died
stops sending heartbeats and is marked FAIL, then retried (``sweep.retry_failed``) by whichever
worker asks next.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import time
import traceback
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from taskhub import UserError, require_extra

if TYPE_CHECKING:
    import optuna

log = logging.getLogger("taskhub")

#: The name ``hydra/sweeper/taskhub_optuna.yaml`` uses as ``_target_``. Hydra (1.3) only
#: instantiates sweepers registered under a ``hydra_plugins.`` name and finds them by scanning
#: the ``hydra_plugins`` namespace package, which an editable install of taskhub cannot add to.
ALIAS = "hydra_plugins.taskhub_sweep.OptunaSweeper"
#: This sweeper process, as other workers of a shared study see it.
WORKER = f"{socket.gethostname()}:{os.getpid()}"
#: Overrides that tune a sweep without changing what it searches: left out of the derived study name.
_NOT_IDENTITY = ("sweep.n_trials", "sweep.n_jobs", "sweep.max_failures", "sweep.rerun_interrupted",
                 "sweep.heartbeat", "sweep.grace_period", "sweep.retry_failed",
                 "hydra.", "trainer.num_threads", "trainer.progress")
_PER_TRIAL = ("sweep.trial=", "sweep.study_name=", "sweep.storage=")


def register_with_hydra() -> None:
    """Make ``_target_: hydra_plugins.taskhub_sweep.OptunaSweeper`` resolve (idempotent). Needs no
    optuna: the sweeper imports it when a sweep starts, so every other run works without the extra.

    ``Plugins.register`` is Hydra's documented way to add a plugin class at run time; the second
    entry names it as Hydra's check expects. The class itself stays importable under its real
    module, so Hydra's state still pickles for joblib workers.
    """
    plugins = Plugins.instance()
    if plugins.class_name_to_class.get(ALIAS) is OptunaSweeper:
        return
    plugins.register(OptunaSweeper)
    plugins.class_name_to_class[ALIAS] = OptunaSweeper


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class OptunaSweeper(Sweeper):
    """Settings come from the job config's ``sweep`` node (``sweep/optuna.yaml``), not from kwargs."""

    def __init__(self, **kwargs: Any) -> None:
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        require_extra("optuna", "sweeps", "sweep=optuna")
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        import optuna
        from optuna.trial import TrialState

        from taskhub_sweep import space as search
        from taskhub_sweep import study as studies

        cfg = self.config
        assert cfg is not None
        settings = cfg.get("sweep")
        if settings is None or "n_trials" not in settings:
            raise UserError("the taskhub Optuna sweeper is configured by sweep=optuna")
        params = _plain(settings.get("params")) or {}
        space = search.parse(arguments, params)
        space.fixed = [o for o in space.fixed if not o.startswith(_PER_TRIAL)]
        if not space.distributions:
            raise UserError("sweep=optuna needs a search space: e.g. 'optimizer.lr=tag(log, interval(1e-4, 1e-1))' "
                            "or sweep.params")
        name = str(settings.get("study_name") or study_name(str(cfg.task.name), arguments))
        sweep_dir = self._sweep_dir(name)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        url = studies.storage_url(settings, sweep_dir)
        shared = studies.is_shared(settings)
        metric, direction = studies.direction(cfg)
        grid = space.grid() if settings.get("sampler") == "grid" else None
        storage = studies.open_storage(url, settings)
        # Workers of one shared study must not draw the same random parameters: each gets its own seed.
        seed_offset = int.from_bytes(os.urandom(2), "big") if shared else 0
        study = optuna.create_study(study_name=name, storage=storage, direction=direction,
                                    sampler=studies.build_sampler(settings, grid, seed_offset),
                                    pruner=studies.build_pruner(settings), load_if_exists=True)
        if study.direction.name.lower() != direction:
            raise UserError(f"study {name} in {studies.safe_url(url)} was created to {study.direction.name.lower()} "
                            f"{study.user_attrs.get('objective', '')}, not to {direction} {metric}: "
                            "use another sweep.study_name or set sweep.direction")
        study.set_user_attr("objective", metric)
        n_trials, n_jobs = int(settings.n_trials), max(1, int(settings.get("n_jobs") or 1))
        _write_json(sweep_dir / "sweep.json", {
            "study_name": name, "storage": studies.safe_url(url), "objective": metric, "direction": direction,
            "n_trials": n_trials, "search_space": {k: repr(v) for k, v in space.distributions.items()},
            "fixed": space.fixed})
        self._prepare(study, settings, default_storage=not shared)
        launcher = self._launcher(n_jobs)
        threads = [] if cfg.trainer.get("num_threads") else [f"trainer.num_threads={max(1, cpu_count() // n_jobs)}"]
        if getattr(launcher, "requeues", False) and not cfg.trainer.get("resume"):
            threads.append("trainer.resume=auto")  # a requeued (preempted) trial job continues from its last.pt
        max_failures = int(settings.get("max_failures") or n_trials)
        failures, returns = 0, []
        heartbeat = studies.Heartbeat(storage)
        log.info("optuna: study %s (%s %s) in %s%s", name, direction, metric, sweep_dir,
                 f", shared through {studies.safe_url(url)}" if shared else "")
        while True:
            if failures >= max_failures:
                log.error("optuna: %d trials failed in this session; stopping (sweep.max_failures)", failures)
                break
            if heartbeat.interval:
                with warnings.catch_warnings():  # "experimental" since Optuna 2.9, and what its own optimize() calls
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    optuna.storages.fail_stale_trials(study)  # trials of dead workers: FAIL, and queued again
            with studies.ask_lock(storage, url, name):
                # Trials other workers are running count too, so all workers together start n_trials.
                finished = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
                running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))) if heartbeat.interval else 0
                batch = []
                for _ in range(max(0, min(n_jobs, n_trials - finished - running))):
                    with warnings.catch_warnings():  # Heartbeat below; Optuna expects Study.optimize to send it
                        warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
                        batch.append(study.ask(space.distributions))
                    heartbeat.add(batch[-1]._trial_id)
                    batch[-1].set_user_attr("worker", WORKER)  # who runs it (the dashboard shows it)
            if finished >= n_trials:
                break
            if not batch:  # the rest of the budget is running elsewhere: wait for it (or for it to go stale)
                time.sleep(min(2.0, float(heartbeat.interval or 1)))
                continue
            overrides = [[*space.fixed, *search.as_overrides(t.params), *threads,
                          f"sweep.trial={t.number}", f"sweep.study_name={name}", f"sweep.storage='{url}'",
                          f"hydra.sweep.subdir={t.number}"] for t in batch]
            with heartbeat:
                results = launcher.launch(overrides, initial_job_idx=batch[0].number)
            for trial, ret in zip(batch, results):
                failures += not self._tell(study, trial, ret)
            returns.extend(results)
        _log_best(study, metric)
        return returns

    def _sweep_dir(self, name: str) -> Path:
        """``hydra.sweep.dir`` as given, else ``<parent of the default>/<study name>``: a fixed place, so
        rerunning the same command finds the study's SQLite file and resumes."""
        cfg = self.config
        assert cfg is not None
        if any(o.startswith("hydra.sweep.dir=") for o in cfg.hydra.overrides.hydra):
            return Path(str(cfg.hydra.sweep.dir))
        new = Path(str(cfg.hydra.sweep.dir)).parent / name
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.sweep.dir = str(new)
            # Each job's config is composed again from these overrides (Hydra's load_sweep_config).
            cfg.hydra.overrides.hydra.append(f"hydra.sweep.dir={new}")
        return new

    def _prepare(self, study: optuna.Study, settings: DictConfig, default_storage: bool) -> None:
        """Re-queue trials a killed sweep left RUNNING; queue ``sweep.enqueue`` on a new study."""
        import optuna

        rerun = settings.get("rerun_interrupted", "auto")
        if rerun is True or (rerun == "auto" and default_storage):
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                log.warning("optuna: trial %d was interrupted; running its parameters again", t.number)
                study.tell(t.number, state=optuna.trial.TrialState.FAIL)
                study.enqueue_trial(t.params, user_attrs={"rerun_of": t.number})
        if not study.get_trials(deepcopy=False):
            for params in _plain(settings.get("enqueue")) or []:
                study.enqueue_trial(dict(params))

    def _launcher(self, n_jobs: int) -> Launcher:
        """Hydra's configured launcher; for ``n_jobs > 1`` with the in-process one, joblib processes."""
        assert self.config is not None and self.hydra_context is not None and self.task_function is not None
        launcher = Plugins.instance().instantiate_launcher(
            hydra_context=self.hydra_context, task_function=self.task_function, config=self.config)
        if n_jobs == 1 or type(launcher).__name__ != "BasicLauncher":
            return launcher
        try:
            from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
        except ImportError:
            log.warning("sweep.n_jobs=%d needs hydra-joblib-launcher; running trials one at a time", n_jobs)
            return launcher
        launcher = JoblibLauncher(n_jobs=n_jobs, backend=None, prefer="processes", require=None, verbose=0,
                                  timeout=None, pre_dispatch="2*n_jobs", batch_size="auto", temp_folder=None,
                                  max_nbytes=None, mmap_mode="r")
        launcher.setup(hydra_context=self.hydra_context, task_function=self.task_function, config=self.config)
        return launcher

    @staticmethod
    def _tell(study: optuna.Study, trial: optuna.Trial, ret: JobReturn) -> bool:
        """Record how one trial ended; False when it failed."""
        import optuna

        run_dir = Path(str(ret.hydra_cfg.hydra.runtime.output_dir)) if ret.hydra_cfg else None
        if run_dir is not None:
            trial.set_user_attr("run_dir", str(run_dir))
        if ret.status == JobStatus.COMPLETED:
            summary = _read_json(run_dir / "summary.json") if run_dir else {}
            if summary.get("sweep", {}).get("pruned"):
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                return True
            value = ret.return_value
            if isinstance(value, (int, float)) and not math.isnan(value):
                study.tell(trial, float(value))
                return True
            error: BaseException = ValueError(f"the run returned no objective value ({value!r})")
        else:
            error = ret._return_value if isinstance(ret._return_value, BaseException) else RuntimeError(str(ret._return_value))
        message = " ".join(f"{type(error).__name__}: {error}".split())
        log.warning("optuna: trial %d failed (%s); the sweep goes on", trial.number, message)
        trial.set_user_attr("error", message[:2000])
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            # First line: the error in one line (the sweep summary shows it); then the traceback.
            (run_dir / "error.txt").write_text(message + "\n\n" + "".join(traceback.format_exception(error)))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return False


def study_name(task: str, arguments: list[str]) -> str:
    """``<task>-<8 hex digits>`` from the overrides that define the search (not n_trials, n_jobs...)."""
    identity = sorted(a for a in arguments if not a.startswith(_NOT_IDENTITY) and not a.startswith(_PER_TRIAL))
    return f"{task}-{hashlib.sha1(json.dumps(identity).encode()).hexdigest()[:8]}"


def _log_best(study: optuna.Study, metric: str) -> None:
    from taskhub_sweep import space as search

    try:
        best = study.best_trial
    except ValueError:
        log.warning("optuna: no trial completed")
        return
    log.info("optuna: best trial %d: %s=%.4g with %s", best.number, metric, best.value,
             " ".join(search.as_overrides(best.params)))


def _plain(node: Any) -> Any:
    """A config node as plain Python (None stays None)."""
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)
