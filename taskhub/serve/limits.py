"""A request-size limit in front of the app: bodies over the limit get 413 before they are read."""
from __future__ import annotations

import json
from typing import Any


class BodyLimit:
    """ASGI middleware: refuse a POST whose Content-Length is over ``limit`` bytes (or missing),
    and stop one whose body turns out longer than it said."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, int(limit)

    async def _refuse(self, send: Any, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is None or not length.isdigit():
            return await self._refuse(send, 411, "send a Content-Length header")
        if int(length) > self.limit:
            return await self._refuse(send, 413, f"request body {int(length)} bytes is over the limit of "
                                                 f"{self.limit} bytes (serve max_request_mb=)")
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise RuntimeError("request body longer than its Content-Length")
            return message

        return await self.app(scope, counted, send)
