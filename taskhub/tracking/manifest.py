"""The run manifest: what produced a run, written as ``manifest.json`` in the run directory and
stored inside each checkpoint (``ckpt["manifest"]``).

It records the command line and overrides, taskhub's and every loaded plugin's version, the key
libraries, Python, the device, the host, start and end time, the seed, the git commit of the
working directory's repository, and a fingerprint of each data split. ``eval`` and ``predict``
compare a checkpoint's manifest with the present and warn in one line about what differs.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taskhub.tracking import environment
from taskhub.tracking.fingerprint import fingerprint_splits, same

if TYPE_CHECKING:
    from taskhub.run_state import Run

log = logging.getLogger("taskhub")

FORMAT = 1
FILENAME = "manifest.json"
#: ``run.state`` key of the manifest (``_``: the engine does not save it in ``state``; the
#: checkpoint stores it under its own ``manifest`` key).
STATE_KEY = "_manifest"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def build(run: Run, mode: str = "fit") -> dict[str, Any]:
    """The manifest of ``run`` at its start (``status: running``)."""
    from omegaconf import OmegaConf

    import taskhub

    cfg = run.cfg
    try:
        resolved = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # an interpolation that only Hydra's job can resolve: keep it as written
        resolved = OmegaConf.to_container(cfg, resolve=False)
    return {
        "format": FORMAT,
        "mode": mode,
        "status": "running",
        "started": now(),
        "ended": None,
        "pid": os.getpid(),
        "command": list(getattr(sys, "orig_argv", sys.argv)),  # as typed: the launcher rewrites sys.argv for Hydra
        "cwd": os.getcwd(),
        "overrides": list(run.overrides),
        "choices": dict(run.choices),
        "task": run.task.name,
        "seed": cfg.get("seed"),
        "seed_source": "random" if run.state.get("_seed_random") else "config",
        "resumed_at_epoch": run.epoch or None,
        "taskhub": taskhub.__version__,
        "plugins": environment.loaded_plugins(),
        "python": environment.python_info(),
        "libraries": environment.libraries(),
        "device": environment.device_info(run.device),
        "host": environment.host_info(),
        "git": environment.git_info(),
        "data": fingerprint_splits(run.data) if run.data is not None else {},
        "config": resolved,
    }


def write(run_dir: Path, manifest: dict[str, Any]) -> Path:
    from taskhub.engine.run import write_json

    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / FILENAME
    write_json(path, manifest)
    return path


def finish(run: Run, status: str, error: BaseException | None = None) -> None:
    """Record the end of the run (``finished``, ``stopped`` or ``failed``) in its manifest."""
    manifest = run.state.get(STATE_KEY)
    if manifest is None or not run.is_main:
        return
    manifest.update(status=status, ended=now())
    if error is not None:
        manifest["error"] = f"{type(error).__name__}: {error}".splitlines()[0][:500]
    write(run.dir, manifest)


def read(run_dir: Path) -> dict[str, Any] | None:
    import json

    path = Path(run_dir) / FILENAME
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def drift(trained: dict[str, Any] | None, present_libraries: dict[str, str],
          present_data: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """One line per kind of difference between a checkpoint's manifest and the present: library
    major versions, and the data of the splits both know. Empty when nothing differs (or the
    checkpoint predates manifests)."""
    if not trained:
        return []
    lines = []
    old_libs = trained.get("libraries") or {}
    changed = [f"{name} {old_libs[name]} -> {present_libraries[name]}"
               for name in environment.CHECKED_LIBRARIES
               if old_libs.get(name) and present_libraries.get(name)
               and environment.major(old_libs[name]) != environment.major(present_libraries[name])]
    if changed:
        lines.append("the checkpoint was made with other major versions: " + ", ".join(changed)
                     + " (results may differ)")
    if present_data:
        old_data = trained.get("data") or {}
        differ = [f"{split} ({old_data[split].get('examples')} -> {fp.get('examples')} examples, "
                  f"sha256 {str(old_data[split].get('sha256'))[:10]} -> {str(fp.get('sha256'))[:10]})"
                  for split, fp in present_data.items() if split in old_data and not same(old_data[split], fp)]
        if differ:
            lines.append("the data differ from the checkpoint's run: " + ", ".join(differ))
    return lines


def warn_drift(trained: dict[str, Any] | None, present_data: dict[str, dict[str, Any]] | None = None,
               where: str = "checkpoint") -> list[str]:
    """Log :func:`drift`'s lines as warnings (``eval`` and ``predict`` call this)."""
    lines = drift(trained, environment.libraries(), present_data)
    for line in lines:
        log.warning("%s: %s", where, line)
    return lines


def record_evaluation(run: Run, ckpt: dict[str, Any], ckpt_path: str | Path) -> dict[str, Any]:
    """``taskhub eval``: write this evaluation's manifest and warn where it differs from the checkpoint's."""
    manifest = build(run, mode="eval")
    manifest["checkpoint"] = str(Path(ckpt_path).resolve())
    manifest["status"] = "finished"
    manifest["ended"] = manifest["started"]
    if run.is_main:
        write(run.dir, manifest)
    warn_drift(ckpt.get("manifest"), manifest["data"], where=f"checkpoint {ckpt_path}")
    return manifest
