"""The ``mlflow`` logger (``logger=[csv,mlflow]``): one MLflow run per taskhub run.

Params: the flattened resolved config. Metrics: every number of each epoch's row at
``step=epoch`` (and ``train/loss_step`` every ``every_n_steps`` optimizer steps if set), the
final ``test/`` metrics. Tags: task, model, dataset, run directory, and the manifest's git
commit, versions, host, seed and data fingerprints. Artifacts: the run's plots, ``summary.json``,
``manifest.json``, ``metrics.csv``, Hydra's config (and ``best.pt`` with ``log_checkpoint``).

A sweep (``taskhub run -m``) gets a parent run with the trials as nested children. A resumed run
continues its MLflow run: the run id travels in the checkpoint (``run.state["mlflow"]``).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskhub.hookspecs import hookimpl
from taskhub.run_state import Run
from taskhub.tracking import manifest as manifests
from taskhub.tracking.loggers import Channel, flat_config, on_error, require, settings

if TYPE_CHECKING:
    import torch

log = logging.getLogger("taskhub")
NAME = "mlflow"
DEFAULT_URI = "sqlite:///mlruns.db"
STATE_KEY = "_mlflow"      # this process's connection (not saved)
RESUME_KEY = "mlflow"      # {"tracking_uri", "run_id"}: saved in checkpoints, so a resume continues the run
PARENTS_FILE = "mlflow_parent.json"
MAX_PARAM_LENGTH = 6000    # MLflow's limit on a param value
BATCH = 100                # MLflow's limit on params per log_batch call


class Tracker:
    def __init__(self, client: Any, run_id: str, uri: str, channel: Channel, every: int,
                 options: dict[str, Any]) -> None:
        self.client, self.run_id, self.uri, self.channel = client, run_id, uri, channel
        self.every, self.options = every, options


def tracking_uri(options: dict[str, Any]) -> str:
    return str(options.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI)


@contextlib.contextmanager
def _fail_fast() -> Iterator[None]:
    """The reachability check gives up after one try of 10 s (MLflow would retry for minutes)."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "10"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _connect(uri: str) -> Any:
    require("mlflow", NAME, "mlflow")
    from mlflow.tracking import MlflowClient

    with _fail_fast():
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
    return client


def _experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:  # created meanwhile by a parallel sweep trial
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _sweep() -> tuple[Path, str] | None:
    """(sweep directory, job number) when this job is one trial of a multirun."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized():
            return None
        hc = HydraConfig.get()
        if hc.mode != RunMode.MULTIRUN:
            return None
        return Path(str(hc.sweep.dir)).resolve(), str(hc.job.num)
    except Exception:
        return None


@contextlib.contextmanager
def _locked(path: Path, stale_s: float = 120.0) -> Iterator[None]:
    """A lock file made with O_EXCL (atomic on every OS and shared file system)."""
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > stale_s:
                    path.unlink()
            time.sleep(0.05)
    try:
        yield
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()


def _sweep_parent(client: Any, uri: str, experiment_id: str, sweep_dir: Path) -> str:
    """The id of the sweep's parent run, created by whichever trial comes first."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    key = f"{uri} {experiment_id}"
    with _locked(sweep_dir / f".{PARENTS_FILE}.lock"):
        path = sweep_dir / PARENTS_FILE
        parents = json.loads(path.read_text()) if path.is_file() else {}
        if key not in parents:
            parent = client.create_run(experiment_id, run_name=f"sweep {sweep_dir.name}",
                                       tags={"taskhub.sweep_dir": str(sweep_dir), "taskhub.role": "sweep"})
            parents[key] = {"tracking_uri": uri, "experiment_id": experiment_id, "run_id": parent.info.run_id}
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(json.dumps(parents, indent=2) + "\n")
            tmp.replace(path)
        return parents[key]["run_id"]


def _tags(run: Run, options: dict[str, Any], run_name: str) -> dict[str, str]:
    record = run.state.get(manifests.STATE_KEY) or {}
    tags: dict[str, Any] = {
        "mlflow.runName": run_name,
        "mlflow.source.name": "taskhub",
        "taskhub.task": run.task.name,
        "taskhub.model": run.choices.get("model") or run.task.model_name(),
        "taskhub.dataset": run.choices.get("dataset", ""),
        "taskhub.run_dir": str(run.dir.resolve()),
        "taskhub.version": record.get("taskhub"),
        "taskhub.seed": record.get("seed", run.cfg.get("seed")),
        "taskhub.host": (record.get("host") or {}).get("name"),
        "taskhub.device": str(run.device),
        "taskhub.python": (record.get("python") or {}).get("version"),
    }
    for lib, version in (record.get("libraries") or {}).items():
        if lib.startswith("torch"):
            tags[f"taskhub.{lib}"] = version
    git = record.get("git")
    if git:
        tags["mlflow.source.git.commit"] = git.get("commit")
        tags["taskhub.git.dirty"] = git.get("dirty")
    for split, fp in (record.get("data") or {}).items():
        tags[f"taskhub.data.{split}"] = f"{fp.get('examples')} examples, sha256 {fp.get('sha256')}"
    tags.update(options.get("tags") or {})
    return {k: str(v) for k, v in tags.items() if v is not None}


def _start(run: Run, options: dict[str, Any], uri: str) -> Tracker:
    client = _connect(uri)
    channel = Channel(NAME, "warn")
    every = int(options.get("every_n_steps") or 0)
    previous = run.state.get(RESUME_KEY) or {}
    if previous.get("run_id") and previous.get("tracking_uri") == uri:
        try:
            client.get_run(previous["run_id"])
            client.update_run(previous["run_id"], status="RUNNING")
            tracker = Tracker(client, previous["run_id"], uri, channel, every, options)
            _log_params(tracker, flat_config(run.cfg), resumed=True)
            log.info("mlflow: continuing run %s at %s", tracker.run_id, uri)
            return tracker
        except Exception as exc:
            log.warning("mlflow: cannot continue run %s (%s); starting a new one", previous["run_id"], exc)
    experiment = str(options.get("experiment") or f"taskhub-{run.task.name}")
    experiment_id = _experiment_id(client, experiment)
    sweep = _sweep()
    run_name = str(options.get("run_name") or (f"{sweep[0].name}/{sweep[1]}" if sweep else run.dir.name))
    tags = _tags(run, options, run_name)
    if sweep:
        tags["mlflow.parentRunId"] = _sweep_parent(client, uri, experiment_id, sweep[0])
        tags["taskhub.sweep_dir"] = str(sweep[0])
    created = client.create_run(experiment_id, tags=tags, run_name=run_name)
    tracker = Tracker(client, created.info.run_id, uri, channel, every, options)
    _log_params(tracker, flat_config(run.cfg), resumed=False)
    run.state[RESUME_KEY] = {"tracking_uri": uri, "run_id": tracker.run_id}
    log.info("mlflow: run %s in experiment %s at %s", tracker.run_id, experiment, uri)
    return tracker


def _log_params(tracker: Tracker, flat: dict[str, Any], resumed: bool) -> None:
    from mlflow.entities import Param

    params = {k[:250]: ("null" if v is None else str(v))[:MAX_PARAM_LENGTH] for k, v in flat.items()}
    if resumed:  # MLflow refuses to change a logged param: add only the new ones
        logged = tracker.client.get_run(tracker.run_id).data.params
        params = {k: v for k, v in params.items() if k not in logged}
    items = [Param(k, v) for k, v in params.items()]
    for i in range(0, len(items), BATCH):
        tracker.client.log_batch(tracker.run_id, params=items[i:i + BATCH])


@hookimpl
def on_fit_start(run: Run) -> None:
    options = settings(run, NAME)
    if options is None or not run.is_main:
        return
    uri = tracking_uri(options)
    tracker = Channel(NAME, on_error(options, NAME)).open(lambda: _start(run, options, uri), f"MLflow at {uri}")
    if tracker is not None:
        run.state[STATE_KEY] = tracker


def _metrics(tracker: Tracker, values: dict[str, float], step: int) -> None:
    from mlflow.entities import Metric

    stamp = int(time.time() * 1000)
    items = [Metric(key, float(value), stamp, step) for key, value in values.items()]
    for i in range(0, len(items), 1000):
        tracker.client.log_batch(tracker.run_id, metrics=items[i:i + 1000])


def _numbers(row: dict[str, Any]) -> dict[str, float]:
    return {("time/epoch_seconds" if k == "seconds" else k): float(v) for k, v in row.items()
            if k != "epoch" and isinstance(v, (int, float)) and not isinstance(v, bool)}


@hookimpl
def on_train_batch_end(run: Run, step: int, loss: torch.Tensor) -> None:
    tracker: Tracker | None = run.state.get(STATE_KEY)
    if tracker is None or not tracker.every or step % tracker.every:
        return
    tracker.channel.call(_metrics, tracker, {"train/loss_step": float(loss)}, step)


@hookimpl
def on_epoch_end(run: Run, epoch: int, metrics: dict[str, float]) -> None:
    tracker: Tracker | None = run.state.get(STATE_KEY)
    if tracker is not None:
        tracker.channel.call(_metrics, tracker, _numbers(metrics), epoch)


@hookimpl(trylast=True)  # after the csv logger and the task have written their files
def on_fit_end(run: Run, summary: dict[str, Any]) -> None:
    tracker: Tracker | None = run.state.pop(STATE_KEY, None)
    if tracker is None:
        return
    final = {k: v for k, v in _numbers(summary).items() if k.startswith("test/")}  # val/: logged per epoch
    tracker.channel.call(_metrics, tracker, final, run.epoch)
    tracker.channel.call(_artifacts, tracker, run, summary)
    tracker.channel.call(tracker.client.set_terminated, tracker.run_id, "FINISHED")


def _artifacts(tracker: Tracker, run: Run, summary: dict[str, Any]) -> None:
    client, run_id = tracker.client, tracker.run_id
    for path in sorted(run.dir.glob("*.png")):
        client.log_artifact(run_id, str(path), "plots")
    for name in ("metrics.csv", manifests.FILENAME):
        if (run.dir / name).is_file():
            client.log_artifact(run_id, str(run.dir / name))
    hydra_dir = run.dir / ".hydra"
    for name in ("config.yaml", "overrides.yaml"):
        if (hydra_dir / name).is_file():
            client.log_artifact(run_id, str(hydra_dir / name), "hydra")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "summary.json"  # written after on_fit_end: this is what it will hold
        path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
        client.log_artifact(run_id, str(path))
    if tracker.options.get("log_checkpoint"):
        best = run.checkpoint_dir / "best.pt"
        best = best if best.is_file() else run.checkpoint_dir / "last.pt"
        if best.is_file():
            client.log_artifact(run_id, str(best), "checkpoints")


@hookimpl
def on_fit_error(run: Run, error: BaseException) -> None:
    tracker: Tracker | None = run.state.pop(STATE_KEY, None)
    if tracker is not None:
        status = "KILLED" if isinstance(error, (KeyboardInterrupt, SystemExit)) else "FAILED"
        tracker.channel.call(tracker.client.set_terminated, tracker.run_id, status)


@hookimpl(trylast=True)  # after the sweep plugin has written sweep_summary.*
def on_sweep_end(sweep_dir: Path) -> None:
    path = Path(sweep_dir) / PARENTS_FILE
    if not path.is_file():
        return
    from mlflow.tracking import MlflowClient

    for parent in json.loads(path.read_text()).values():
        channel = Channel(NAME, "warn")
        client = MlflowClient(tracking_uri=parent["tracking_uri"])
        for name in ("sweep_summary.json", "sweep_summary.csv"):
            if (Path(sweep_dir) / name).is_file():
                channel.call(client.log_artifact, parent["run_id"], str(Path(sweep_dir) / name))
        channel.call(client.set_terminated, parent["run_id"], "FINISHED")
