"""Pure ASGI middleware: DVID's tolerated trailing slash, and the request body limit."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxhub.errors import TooLarge
from voxhub.server.errors import error_body


class TrailingSlash:
    """Serve ``/api/.../`` as ``/api/...`` (DVID tolerates a trailing slash; a redirect
    would turn POSTs into GETs in some clients)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/api/") and path.endswith("/"):
            scope = dict(scope, path=path.rstrip("/") or "/")
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 naming the limit, before reading
    them when a Content-Length says so, and while streaming otherwise."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _error(self, size: int | str) -> TooLarge:
        return TooLarge(
            f"request body of {size} bytes exceeds the server limit of {self.max_bytes} bytes; "
            "split the request"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = JSONResponse(error_body(self._error(int(length))), status_code=413)
            await response(scope, receive, send)
            return
        total = 0

        async def counted() -> Message:
            nonlocal total
            message = await receive()
            total += len(message.get("body", b""))
            if total > self.max_bytes:
                raise self._error(f"more than {total}")
            return message

        await self.app(scope, counted, send)
