"""The data check itself: describe the splits, check them, write the report; as a job of its own
(``taskhub data check``, ``mode=datacheck``) and, cached by the data fingerprint, at the start of
every run."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from taskhub.datacheck.checks import CheckResult, run_checks
from taskhub.datacheck.report import draw, summary_lines, tables, write_markdown

log = logging.getLogger("taskhub")
#: bump when the checks or the cached fields change, so old cache entries are not reused
VERSION = 1


def describe(task: Any, data: Any, samples: int) -> Any:
    """The task's description of ``data`` (its :meth:`~taskhub.Task.describe_data`)."""
    return task.describe_data(data, samples=samples)


def check(task: Any, data: Any, out_dir: Path, title: str, pictures: bool = True) -> CheckResult:
    """Describe and check ``data``; write ``data_report.md`` (and, with ``pictures``, the pictures) into ``out_dir``."""
    desc = describe(task, data, samples=16 if pictures else 0)
    result = run_checks(desc, dict(getattr(data, "skipped", None) or {}))
    result.sections = tables(desc)
    drawn = draw(out_dir, title, desc) if pictures else []
    write_markdown(out_dir, title, result, drawn)
    return result


def title_of(task: Any, choices: dict[str, str]) -> str:
    return " / ".join(x for x in (task.name, choices.get("dataset", "")) if x)


def check_job(cfg: Any, run_dir: Path, choices: dict[str, str]) -> dict[str, Any]:
    """``taskhub data check``: build the splits as a run would (seeded, ``auto`` settings
    resolved), check them with pictures, print the result; the summary's ``problems`` decide the exit status."""
    from taskhub.datacheck.report import print_result
    from taskhub.engine.device import seed_everything
    from taskhub.engine.execute import build_task

    seed_everything(int(cfg.seed) if cfg.get("seed") is not None else 0)
    task = build_task(cfg)
    data = task.build_data("fit")
    result = check(task, data, run_dir, title_of(task, choices), pictures=True)
    print_result(result)
    print(f"report: {run_dir / 'data_report.md'}")
    return {"task": task.name, "mode": "datacheck", "run_dir": str(run_dir), "data": result.summary,
            "problems": list(result.problems)}


def cache_path(task_name: str, fingerprint: dict[str, Any]) -> Path:
    from taskhub.tracking.fingerprint import cache_dir

    parts = {split: [fp.get("examples"), fp.get("sha256")] for split, fp in sorted(fingerprint.items())}
    key = hashlib.sha256(json.dumps([VERSION, task_name, parts]).encode()).hexdigest()[:32]
    return cache_dir() / "datacheck" / f"{key}.json"


def check_at_run_start(run: Any) -> CheckResult:
    """The check at the start of a run (rank 0): reused from the cache when the data fingerprint
    is one already checked, else computed without pictures (no example is decoded for them) and
    cached. Writes ``data_report.md`` into the run directory and logs the summary in a few lines;
    problems are logged as warnings (``taskhub data check`` is the command that fails on them)."""
    from taskhub.tracking import manifest
    from taskhub.tracking.fingerprint import fingerprint_splits

    record = run.state.get(manifest.STATE_KEY) or {}
    fingerprint = record.get("data") or fingerprint_splits(run.data)
    path = cache_path(run.task.name, fingerprint)
    result = _load(path)
    cached = result is not None
    if result is None:
        desc = describe(run.task, run.data, samples=0)
        result = run_checks(desc, dict(getattr(run.data, "skipped", None) or {}))
        result.sections = tables(desc)
        _store(path, result)
    write_markdown(Path(run.dir), title_of(run.task, run.choices), result, [])
    for line in summary_lines(result.summary):
        log.info(line)
    for line in result.problems + result.warnings:
        log.warning("data: %s", line)
    log.debug("data check %s (%s)", "reused" if cached else "computed", path)
    return result


def _load(path: Path) -> CheckResult | None:
    try:
        return CheckResult.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, result: CheckResult) -> None:
    """Best effort: an unwritable cache only means the check runs again next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result.to_json(), default=str))
        tmp.replace(path)
    except OSError:
        pass
