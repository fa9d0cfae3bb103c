"""``taskhub serve ckpt=PATH|bundle=DIR [host=127.0.0.1] [port=8000] [max_batch=32] [max_wait_ms=1]
[max_request_mb=16] [device=auto]``: load the model once, then serve it with uvicorn."""
from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from taskhub.errors import UserError

SETTINGS = {"host": str, "port": int, "max_batch": int, "max_wait_ms": float, "max_request_mb": float,
            "device": str, "ckpt": str, "bundle": str, "trust": str}


def parse_settings(items: list[str]) -> tuple[dict[str, Any], list[str]]:
    """serve's own ``key=value`` settings (typed, one line per bad value) and the rest (config overrides)."""
    from taskhub.errors import did_you_mean

    picked: dict[str, Any] = {}
    rest: list[str] = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"{item!r}: taskhub serve takes key=value settings ({', '.join(SETTINGS)})")
        if key in SETTINGS:
            try:
                picked[key] = SETTINGS[key](value)
            except ValueError:
                raise UserError(f"{key}={value}: expected {SETTINGS[key].__name__}") from None
        elif "." in key.lstrip("+"):
            rest.append(item)  # a config override for ckpt=, e.g. task.topk=3
        else:
            raise UserError(f"{key}: not a serve setting{did_you_mean(key, SETTINGS)}; choose from {', '.join(SETTINGS)}")
    return picked, rest


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("taskhub-dl", "torch", "onnxruntime", "fastapi", "uvicorn"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def load_predictor(settings: dict[str, Any], overrides: list[str]) -> tuple[Any, dict[str, Any]]:
    """The predictor named by ckpt= or bundle=, and what ``GET /info`` says about it."""
    device = settings.get("device", "auto")
    if bool(settings.get("ckpt")) == bool(settings.get("bundle")):
        raise UserError("taskhub serve needs ckpt=PATH (a checkpoint) or bundle=DIR (from taskhub export), not both")
    if settings.get("bundle"):
        from taskhub.export import load_bundle

        if overrides:
            raise UserError(f"serve bundle=: config overrides ({' '.join(overrides)}) apply to ckpt= only")
        predictor = load_bundle(settings["bundle"], device)
        m = predictor.manifest
        info = {"task": m["task"], "model": m["model"], "source": "bundle", "path": str(Path(settings["bundle"]).resolve()),
                "format": m["format"], "providers": predictor.providers, "parity": m.get("parity")}
    else:
        import taskhub

        predictor = taskhub.load(settings["ckpt"], overrides, device=device, trust=settings.get("trust"))
        info = {"task": predictor.task.name, "model": predictor.task.model_name(), "source": "checkpoint",
                "path": str(Path(settings["ckpt"]).resolve()), "device": str(predictor.device)}
    state = predictor.task.state_dict()
    labels = state.get("labels") if isinstance(state, dict) else None
    info["labels"] = [str(x) for x in labels] if isinstance(labels, list) else None
    info["versions"] = _versions()
    return predictor, info


def cmd_serve(args: Any) -> int:
    from taskhub.export.deps import require

    settings, overrides = parse_settings(list(args.overrides))
    uvicorn = require("uvicorn", "taskhub serve")
    require("fastapi", "taskhub serve")
    require("python_multipart", "taskhub serve (uploads)")
    predictor, info = load_predictor(settings, overrides)
    from taskhub.serve.app import build_app

    app = build_app(predictor, info, max_batch=settings.get("max_batch", 32),
                    max_wait_ms=settings.get("max_wait_ms", 1.0), max_request_mb=settings.get("max_request_mb", 16.0))
    host, port = settings.get("host", "127.0.0.1"), settings.get("port", 8000)
    print(f"serving task={info['task']} model={info['model']} ({info['source']}) on http://{host}:{port}/", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
