"""The FastAPI app: routes, request limits and one-line JSON errors (never a traceback).

JSON inputs are values, never server paths: a string that names an existing file or directory
on the server is refused, so a client cannot make the task read the server's files. Uploads go
to a private folder under names that keep the order they arrived in, and are deleted after use.
"""
from __future__ import annotations

import glob
import itertools
import json
import logging
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

# FastAPI reads the routes' annotations by name from this module: its imports live here (the
# module is imported only by ``taskhub serve`` and build_app, after the extra was checked).
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import UploadFile

from taskhub.errors import UserError, user_message
from taskhub.serve.batcher import MicroBatcher
from taskhub.serve.limits import BodyLimit
from taskhub.serve.page import render

log = logging.getLogger("taskhub")


def _error(status: int, message: str) -> Any:
    return JSONResponse({"error": message}, status_code=status)


def _names_server_path(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip() or len(value) > 4096 or "\n" in value:
        return False
    try:
        p = Path(value).expanduser()
        return p.exists() or (any(c in value for c in "*?[") and bool(glob.glob(str(p))))
    except (OSError, ValueError):
        return False


def _json_inputs(body: Any) -> list[Any]:
    """``{"inputs": [...]}`` (or ``{"input": x}``, or a bare list) as the list of inputs."""
    if isinstance(body, dict) and "inputs" in body:
        inputs = body["inputs"]
    elif isinstance(body, dict) and "input" in body:
        inputs = [body["input"]]
    elif isinstance(body, list):
        inputs = body
    else:
        raise UserError('send {"inputs": [...]} (texts, rows as objects, series as lists) or upload files')
    if not isinstance(inputs, list) or not inputs:
        raise UserError('"inputs" must be a non-empty list')
    for i, x in enumerate(inputs):
        if isinstance(x, str) and not x.strip():
            raise UserError(f"input {i} is empty")
        if _names_server_path(x):
            raise UserError(f"input {i} names a file on the server; send the value itself, or upload the file")
    return inputs


def build_app(predictor: Any, info: dict[str, Any], max_batch: int = 32, max_wait_ms: float = 1.0,
              max_request_mb: float = 16.0, max_files: int = 64) -> Any:

    def predict(inputs: list[Any]) -> list[dict[str, Any]]:
        return list(predictor.predict(inputs))

    batcher = MicroBatcher(predict, max_batch=max_batch, max_wait=max_wait_ms / 1000.0)
    uploads = Path(tempfile.mkdtemp(prefix="taskhub-serve-"))
    counter = itertools.count()
    page = render(info)

    @asynccontextmanager
    async def lifespan(app: Any):
        batcher.start()
        yield
        await batcher.stop()
        shutil.rmtree(uploads, ignore_errors=True)

    app = FastAPI(title=f"taskhub {info.get('task')}", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.batcher = batcher

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/info")
    async def get_info() -> dict[str, Any]:
        return info

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page

    @app.post("/predict")
    async def post_predict(request: Request) -> Any:
        ctype = request.headers.get("content-type", "")
        saved: list[Path] = []
        files: list[Any] = []
        try:
            if ctype.startswith("multipart/form-data"):
                form = await request.form(max_files=max_files, max_fields=max_files)
                files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
                if not files:
                    raise UserError('upload at least one file (form field "file")')
                for upload in files:
                    suffix = Path(upload.filename or "").suffix.lower()[:16]
                    target = uploads / f"{next(counter):012d}{suffix}"
                    with target.open("wb") as out:
                        shutil.copyfileobj(upload.file, out)
                    saved.append(target)
                inputs: list[Any] = [str(p) for p in saved]
                kind = "files"
            elif ctype.startswith("application/json"):
                try:
                    body = json.loads(await request.body())
                except ValueError as exc:
                    raise UserError(f"the body is not JSON ({exc})") from None
                inputs, kind = _json_inputs(body), "values"
            else:
                return _error(415, "send application/json or multipart/form-data")
            rows = await batcher.submit(inputs, kind)
            names = {str(p): (files[i].filename or p.name) for i, p in enumerate(saved)}
            return {"predictions": [_rename(r, names) for r in rows]}
        except Exception as exc:
            message = user_message(exc)
            if message is None:
                log.exception("serve: predict failed")
                return _error(500, f"internal error ({type(exc).__name__}); see the server log")
            return _error(400, message.replace(str(uploads) + "/", ""))
        finally:
            for p in saved:
                p.unlink(missing_ok=True)

    return BodyLimit(app, int(max_request_mb * 1024 * 1024))


def _rename(row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Rows name an uploaded file by its upload name, not by the server's temporary path."""
    if isinstance(row, dict) and isinstance(row.get("input"), str) and row["input"] in names:
        return {**row, "input": names[row["input"]]}
    return row
