"""``taskhub serve``: a trained model behind HTTP (FastAPI on uvicorn; the ``serve`` extra).

``POST /predict`` (JSON ``{"inputs": [...]}`` for texts, rows and series; multipart uploads for
images and audio), ``GET /health``, ``GET /info`` and a page at ``/`` to try the model. Concurrent
requests are micro-batched into one ``predict`` call. See docs/export.md.
"""
from __future__ import annotations

from typing import Any

__all__ = ["build_app"]


def build_app(predictor: Any, info: dict[str, Any], **settings: Any) -> Any:
    """The ASGI app serving ``predictor`` (``taskhub.load(...)`` or ``load_bundle(...)``)."""
    from taskhub.export.deps import require

    require("fastapi", "taskhub serve")
    require("python_multipart", "taskhub serve (uploads)")
    from taskhub.serve.app import build_app as _build

    return _build(predictor, info, **settings)
