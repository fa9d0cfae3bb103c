"""Device, precision and seeding: the choices a run makes once, before building anything."""
from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

from taskhub.errors import UserError


def pick_device(name: str | None) -> torch.device:
    """``auto``: cuda, then mps, then cpu. Otherwise the named device, checked to exist."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            local_rank = int(os.environ.get("LOCAL_RANK", 0))
            return torch.device("cuda", local_rank)
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UserError(f"trainer.device={name}: not a device name (use auto, cpu, cuda, cuda:N or mps)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"trainer.device={name}: CUDA is not available on this machine (use trainer.device=cpu or auto)")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError(f"trainer.device={name}: MPS is not available on this machine (use trainer.device=cpu or auto)")
    return device


def autocast_dtype(device: torch.device, precision: str | int | None) -> torch.dtype | None:
    """The autocast dtype, or None for full fp32. ``auto`` mixes precision on GPUs only."""
    precision = str(precision or "auto").lower()
    if precision in ("32", "fp32", "32-true"):
        return None
    if precision in ("bf16", "bf16-mixed"):
        return torch.bfloat16
    if precision in ("16", "fp16", "16-mixed"):
        return torch.float16
    if precision != "auto":
        raise UserError(f"trainer.precision={precision}: choose auto, 32, 16 or bf16")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Precision without branches in the loop: a no-op context when running in fp32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch; ``deterministic`` also forbids non-deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
