"""Where a run ran: library versions, loaded plugins, the device, the host, the git commit.

Everything here is best effort and never raises: a manifest must not fail a run because
``nvidia-smi`` or ``git`` is missing.
"""
from __future__ import annotations

import importlib.metadata as metadata
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

#: Distributions whose versions every manifest records (those installed).
KEY_LIBRARIES = ("torch", "torchvision", "torchaudio", "torchmetrics", "numpy", "hydra-core", "omegaconf",
                 "pluggy", "pandas", "pillow", "transformers", "tokenizers", "optuna", "tensorboard", "mlflow")
#: Libraries whose major version, when it differs from a checkpoint's, ``eval``/``predict`` warn about.
CHECKED_LIBRARIES = ("torch", "torchvision", "torchaudio", "torchmetrics", "numpy")
GIT_TIMEOUT_S = 5.0


def version_of(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def libraries() -> dict[str, str]:
    """Installed versions of :data:`KEY_LIBRARIES` (missing ones left out)."""
    return {name: v for name in KEY_LIBRARIES if (v := version_of(name)) is not None}


def loaded_plugins() -> list[dict[str, Any]]:
    """Every plugin the host loaded: entry-point name, module, distribution and version."""
    from taskhub.plugins import get_host

    return [{"name": info.name, "module": info.module, "distribution": info.distribution, "version": info.version}
            for info in get_host().plugins.values() if info.error is None]


def python_info() -> dict[str, str]:
    return {"version": platform.python_version(), "implementation": platform.python_implementation(),
            "executable": sys.executable}


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        out = _output(["sysctl", "-n", "machdep.cpu.brand_string"])
        if out:
            return out
    return platform.processor() or platform.machine()


def device_info(device: Any = None) -> dict[str, Any]:
    """CPU model, core and thread counts, and each visible GPU's name, memory and driver."""
    import torch

    info: dict[str, Any] = {"type": str(device) if device is not None else None, "cpu": cpu_model(),
                            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        gpus = []
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gpus.append({"name": props.name, "memory_gb": round(props.total_memory / 2**30, 1),
                         "capability": f"{props.major}.{props.minor}"})
        info["gpus"] = gpus
        info["cuda"] = torch.version.cuda
        driver = _output(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"])
        if driver:
            info["driver"] = driver.splitlines()[0].strip()
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        info["gpus"] = [{"name": "Apple MPS"}]
    return info


def host_info() -> dict[str, str]:
    return {"name": socket.gethostname(), "platform": platform.platform()}


def git_info(path: str | Path | None = None) -> dict[str, Any] | None:
    """The commit of the git repository holding ``path`` (default: the working directory) and
    whether tracked files had uncommitted changes; None outside a repository or without git.

    Untracked files are not counted: run directories usually sit untracked inside the checkout.
    """
    where = str(Path(path or os.getcwd()))
    commit = _output(["git", "-C", where, "rev-parse", "HEAD"])
    if not commit:
        return None
    status = _output(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"], strip=False)
    return {
        "commit": commit,
        "branch": _output(["git", "-C", where, "rev-parse", "--abbrev-ref", "HEAD"]),
        "dirty": bool(status and status.strip()),
        "root": _output(["git", "-C", where, "rev-parse", "--show-toplevel"]),
    }


def _output(cmd: list[str], strip: bool = True) -> str | None:
    """A command's stdout, or None when it fails, is missing or takes longer than a few seconds."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() if strip else done.stdout


def major(version: str | None) -> str | None:
    """``"2.11.0+cu130"`` -> ``"2"``."""
    if not version:
        return None
    return version.split("+", 1)[0].split(".", 1)[0]
