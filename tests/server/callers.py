"""What the auth layer does for a request, in small: its caller in ``scope["state"]["user"]``."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class WithCaller:
    """ASGI wrapper putting ``caller`` (a principal-like object or a name) on each request."""

    def __init__(self, app: ASGIApp, caller: object) -> None:
        self.app, self.caller = app, caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.caller is not None:
            scope["state"] = {"user": self.caller}
        await self.app(scope, receive, send)
