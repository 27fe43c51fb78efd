"""Pure ASGI middleware: DVID's tolerated trailing slash.

The other middleware has modules of its own: :mod:`.cors` (cross-origin reads and
writes), :mod:`.hosts` (the Host allow-list), :mod:`.limits` (body size, read timeout,
large requests).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


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
