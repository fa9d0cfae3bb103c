"""A machine-wide cache for data a plugin generates itself (a built-in default dataset).

Generating thousands of synthetic examples takes seconds at every start; reading them back takes
milliseconds. The cache is keyed by the generator's name and every setting that changes its output
(the plugin includes a version of its generator), lives in ``$TASKHUB_CACHE_DIR/generated``
(default ``~/.cache/taskhub``), holds tensors only (read with ``weights_only=True``: never code),
and is best effort: an unreadable or damaged file is regenerated, an unwritable folder only means
no cache. Files are written atomically, so processes starting together (DDP ranks) cannot read half
a file.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger("taskhub")


def cache_path(name: str, settings: Mapping[str, Any]) -> Path:
    """Where :func:`cached_tensors` keeps ``name`` generated with ``settings``."""
    from taskhub.tracking.fingerprint import cache_dir

    key = hashlib.sha256(json.dumps({"name": name, **settings}, sort_keys=True, default=str).encode()).hexdigest()
    return cache_dir() / "generated" / f"{name}-{key[:20]}.pt"


def cached_tensors(name: str, settings: Mapping[str, Any],
                   build: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """``build()``'s tensors, generated once per machine for these ``settings`` and then read back."""
    path = cache_path(name, settings)
    try:
        found = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(found, dict) and found and all(isinstance(v, torch.Tensor) for v in found.values()):
            return found
    except FileNotFoundError:
        pass
    except Exception as exc:  # damaged or from another torch: build it again
        log.debug("generated-data cache %s unreadable (%s): regenerating", path, exc)
    tensors = build()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as f:
            torch.save(tensors, f)
        os.replace(tmp, path)
    except OSError as exc:  # a full disk or a read-only home: no cache, and no half-written file left
        log.debug("generated-data cache %s not written (%s)", path, exc)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return tensors
