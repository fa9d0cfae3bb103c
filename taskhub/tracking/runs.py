"""``taskhub runs``: find run directories, describe each one (task, model, dataset, date, epochs,
train time, objective, test metrics, status) from the files it holds.

Works on runs made before manifests existed: ``summary.json`` and Hydra's ``.hydra/`` say most
of it, and the status then comes from the files' ages.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

from taskhub.engine.run_dir import LOCK_NAME
from taskhub.tracking.manifest import FILENAME as MANIFEST

DEFAULT_DIRS = ("runs", "multiruns")
#: Folders inside a run directory that never hold another run.
_SKIP = {"checkpoints", "tensorboard", ".hydra", "mlruns", "__pycache__", ".git"}
#: A run without a manifest whose files changed this recently is taken to be running.
RECENT_S = 15 * 60
_DATE_DIR = re.compile(r"(\d{4}-\d{2}-\d{2})_(\d{2})-(\d{2})-(\d{2})")
#: Metric names where lower is better (for sorting best first).
_LOWER = ("loss", "wer", "cer", "mae", "rmse", "mape", "mse", "error", "seconds", "perplexity")


def is_run_dir(path: Path) -> bool:
    return (path / ".hydra" / "config.yaml").is_file() or (path / "summary.json").is_file() \
        or (path / MANIFEST).is_file()


def discover(dirs: list[Path]) -> list[Path]:
    """Every run directory under ``dirs`` (a run directory given itself counts), sorted."""
    found: list[Path] = []
    for root in dirs:
        if not root.is_dir():
            continue
        for current, subdirs, _files in os.walk(root):
            here = Path(current)
            if is_run_dir(here):
                found.append(here)
                subdirs[:] = []  # runs do not nest
                continue
            subdirs[:] = sorted(d for d in subdirs if d not in _SKIP and not d.startswith("."))
    return sorted(set(found))


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_yaml(path: Path) -> dict[str, Any] | None:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def hydra_config(run_dir: Path) -> dict[str, Any]:
    return read_yaml(run_dir / ".hydra" / "config.yaml") or {}


def hydra_choices(run_dir: Path) -> dict[str, str]:
    hydra = read_yaml(run_dir / ".hydra" / "hydra.yaml") or {}
    choices = ((hydra.get("hydra") or {}).get("runtime") or {}).get("choices") or {}
    return {k: str(v) for k, v in choices.items() if v is not None and not str(k).startswith("hydra")}


def resolved_config(run_dir: Path) -> dict[str, Any]:
    """The run's config with interpolations and ``auto`` settings resolved: the manifest's, else
    the last checkpoint's (runs from before manifests), else ``.hydra/config.yaml``'s."""
    record = read_json(run_dir / MANIFEST) or {}
    if isinstance(record.get("config"), dict):
        return record["config"]
    for name in ("last.pt", "best.pt"):
        config = _checkpoint_config(run_dir / "checkpoints" / name)
        if config is not None:
            return config
    path = run_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        return {}
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(path)
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except Exception:
        return OmegaConf.to_container(cfg, resolve=False)  # type: ignore[return-value]


def _checkpoint_config(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    import torch

    try:  # mmap: the weights are not read, only the small entries
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:
        return None
    config = ckpt.get("config") if isinstance(ckpt, dict) else None
    return config if isinstance(config, dict) else None


def _get(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _started(run_dir: Path, manifest: dict[str, Any] | None) -> str | None:
    if manifest and manifest.get("started"):
        return str(manifest["started"])
    found = _DATE_DIR.search(run_dir.as_posix())
    if found:
        return f"{found.group(1)}T{found.group(2)}:{found.group(3)}:{found.group(4)}"
    for path in (run_dir / ".hydra" / "config.yaml", run_dir / "summary.json"):
        if path.exists():
            return dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _newest_change(run_dir: Path) -> float:
    times = []
    for path in (run_dir / "checkpoints" / "last.pt", run_dir / "metrics.csv", run_dir / MANIFEST,
                 run_dir / ".hydra" / "config.yaml"):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            pass
    return max(times, default=0.0)


def status(run_dir: Path, manifest: dict[str, Any] | None, summary: dict[str, Any] | None) -> str:
    """finished (summary.json written), running, stopped (interrupted or killed: resumable from
    last.pt), or failed (raised an error, or ended before its first checkpoint)."""
    if summary is not None:
        return "finished"
    holder = read_json(run_dir / LOCK_NAME)  # the run-directory lock: held while a run works in it
    if holder and isinstance(holder.get("pid"), int):
        if holder.get("host") != socket.gethostname() or (_pid_alive(holder["pid"]) and holder["pid"] != os.getpid()):
            return "running"
    recent = time.time() - _newest_change(run_dir) < RECENT_S
    if manifest and manifest.get("status") in ("stopped", "failed", "finished"):
        return str(manifest["status"])
    if manifest and manifest.get("status") == "running":
        same_host = (manifest.get("host") or {}).get("name") == socket.gethostname()
        if same_host and isinstance(manifest.get("pid"), int):
            if _pid_alive(manifest["pid"]) and manifest["pid"] != os.getpid():
                return "running"
            return "stopped"  # the process is gone without recording an end: killed
        return "running" if recent else "stopped"
    if recent:
        return "running"
    return "stopped" if (run_dir / "checkpoints" / "last.pt").is_file() else "failed"


def _epochs_so_far(run_dir: Path) -> int | None:
    try:
        lines = (run_dir / "metrics.csv").read_text().strip().splitlines()
    except OSError:
        return None
    return max(0, len(lines) - 1)


def describe(run_dir: Path) -> dict[str, Any]:
    """One run as a flat record (what ``--json`` prints)."""
    summary = read_json(run_dir / "summary.json")
    manifest = read_json(run_dir / MANIFEST)
    config = hydra_config(run_dir)
    choices = {**hydra_choices(run_dir), **((manifest or {}).get("choices") or {})}
    s = summary or {}
    metrics = {k: v for k, v in s.items() if "/" in k and isinstance(v, (int, float)) and not isinstance(v, bool)}
    objective = s.get("objective") if isinstance(s.get("objective"), dict) else None
    git = (manifest or {}).get("git") or {}
    max_epochs = _get((manifest or {}).get("config") or config, "trainer.max_epochs")
    return {
        "run": str(run_dir),
        "task": s.get("task") or (manifest or {}).get("task") or _get(config, "task.name"),
        "model": s.get("model") or choices.get("model"),
        "dataset": s.get("dataset") or choices.get("dataset"),
        "mode": (manifest or {}).get("mode") or config.get("mode") or ("eval" if "checkpoint" in s else "fit"),
        "started": _started(run_dir, manifest),
        "ended": (manifest or {}).get("ended"),
        "status": status(run_dir, manifest, summary),
        "epochs": s.get("epochs") if summary else _epochs_so_far(run_dir),
        "max_epochs": max_epochs,
        "train_seconds": s.get("train_seconds"),
        "objective": objective,
        "metrics": metrics,
        "seed": s.get("seed", (manifest or {}).get("seed", config.get("seed"))),
        "git_commit": git.get("commit"),
        "git_dirty": git.get("dirty"),
        "has_manifest": manifest is not None,
    }


def collect(dirs: list[Path], task: str | None = None, include_eval: bool = False) -> list[dict[str, Any]]:
    records = [describe(d) for d in discover(dirs)]
    if not include_eval:
        records = [r for r in records if r["mode"] != "eval"]
    if task:
        records = [r for r in records if r["task"] == task]
    return records


def lower_is_better(key: str, records: list[dict[str, Any]]) -> bool:
    name = key.rsplit("/", 1)[-1]
    for r in records:
        objective = r.get("objective") or {}
        if str(objective.get("name", "")).rsplit("/", 1)[-1] == name:
            return objective.get("mode") == "min"
    return any(word in name.lower() for word in _LOWER)


def value_of(record: dict[str, Any], key: str) -> Any:
    if key in record and key != "metrics":
        return record[key]
    if key == "objective":
        return (record.get("objective") or {}).get("value")
    return record["metrics"].get(key)


def sort_records(records: list[dict[str, Any]], key: str | None, reverse: bool = False) -> list[dict[str, Any]]:
    """Best first for metrics (by their direction), oldest first for dates; missing values last."""
    if not key:
        key = "started"
    present = [r for r in records if value_of(r, key) is not None]
    missing = [r for r in records if value_of(r, key) is None]
    numeric = all(isinstance(value_of(r, key), (int, float)) for r in present)
    descending = numeric and key not in ("epochs", "max_epochs", "seed") and not lower_is_better(key, records)
    if key in ("train_seconds",):
        descending = False
    present.sort(key=lambda r: value_of(r, key) if numeric else str(value_of(r, key)), reverse=descending != reverse)
    return present + missing


def main_metrics(records: list[dict[str, Any]], limit: int = 4) -> list[str]:
    """The test metrics worth a column: each objective's test counterpart first, then the others."""
    keys: list[str] = []
    for r in records:
        objective = str((r.get("objective") or {}).get("name") or "")
        counterpart = "test/" + objective.split("/", 1)[-1] if objective else None
        if counterpart and counterpart in r["metrics"] and counterpart not in keys:
            keys.append(counterpart)
    for r in records:
        for k in r["metrics"]:
            if k.startswith("test/") and k.count("/") == 1 and k != "test/loss" and k not in keys:
                keys.append(k)
    return keys[:limit]
