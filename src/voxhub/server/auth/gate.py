"""The server's side of authentication: the :class:`Gate` of one app, and the middleware
that recognises each request's caller.

:class:`Authenticate` reads the token from ``Authorization: Bearer <token>`` or, for
browsers, the ``voxhub_token`` cookie (``POST /api/server/login`` sets it), and puts the
:class:`~voxhub.service.auth.principal.Principal` in the ASGI scope under
:data:`PRINCIPAL_KEY`, the user name in ``scope["state"]["user"]`` (what the access log
records) and where the token came from under :data:`TOKEN_SOURCE_KEY`. A token that is
sent but not valid is refused with 401 on every route, so a client never mistakes a
revoked token for anonymous access.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from voxhub.errors import VoxhubError
from voxhub.server.errors import error_body, status_for
from voxhub.service import Service
from voxhub.service.auth import (
    ANONYMOUS,
    OPEN,
    AuthConfig,
    Authenticator,
    Policy,
    Principal,
    StateCache,
    Viewer,
)

#: the ASGI scope key holding the request's :class:`Principal`
PRINCIPAL_KEY = "voxhub.principal"
#: the ASGI scope key saying where the request's token came from: "header" or "cookie"
#: (a cookie rides along with cross-site requests, a header never does)
TOKEN_SOURCE_KEY = "voxhub.token_source"
#: how often a server on a slow store (S3) re-reads the auth record; revocations and new
#: grants take effect within this many seconds (LMDB and memory stores: on every request)
SLOW_STORE_REFRESH_SECONDS = 2.0

T = TypeVar("T")


class Gate:
    """Authentication and the access policy of one app (auth off: everyone is OPEN)."""

    def __init__(self, service: Service, config: AuthConfig) -> None:
        self.service = service
        self.config = config
        store = service.store
        # a memory store is a dict; LMDB reads in microseconds; an object store is remote
        remote = store.persistent and not store.low_latency_reads
        refresh = SLOW_STORE_REFRESH_SECONDS if remote else 0.0
        self.states = StateCache(service.store, refresh)
        self.policy = Policy(service.catalog, self.states)
        self.authenticator = Authenticator(config, self.states)

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def principal_of(self, scope: Scope) -> Principal:
        """The caller the middleware recognised (anonymous if it did not run)."""
        if not self.enabled:
            return OPEN
        found = scope.get(PRINCIPAL_KEY)
        return found if isinstance(found, Principal) else ANONYMOUS

    def viewer(self, scope: Scope) -> Viewer:
        """What the caller of ``scope`` may see and do."""
        if not self.enabled:
            return Viewer()
        return Viewer(self.principal_of(scope), self.policy)

    async def run(self, fn: Callable[..., T], *args: object, network: bool = False) -> T:
        """Run a blocking check on the event loop when the store reads in microseconds,
        else (or when it may wait on the network) in the thread pool."""
        if self.service.fast_reads and not network:
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    def token_of(self, headers: Headers) -> tuple[str | None, str]:
        """The token a request carries and where from: the bearer header first, then the
        cookie (``(None, "")`` if neither)."""
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip(), "header"
        found = cookie_parser(headers.get("cookie", "")).get(self.config.cookie)
        return (found, "cookie") if found else (None, "")


class Authenticate:
    """Pure ASGI middleware: recognise the caller of each HTTP request (see module doc)."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.gate.enabled:
            await self.app(scope, receive, send)
            return
        gate = self.gate
        token, source = gate.token_of(Headers(scope=scope))
        try:
            principal = await gate.run(
                gate.authenticator.principal, token, network=gate.authenticator.needs_thread
            )
        except VoxhubError as e:  # outside the routes: answer here, in the same JSON shape
            status = status_for(e, scope.get("method", "GET"))
            headers = {"WWW-Authenticate": 'Bearer realm="voxhub", error="invalid_token"'}
            reply = JSONResponse(error_body(e), status, headers=headers if status == 401 else None)
            await reply(scope, receive, send)
            return
        scope[PRINCIPAL_KEY] = principal
        scope[TOKEN_SOURCE_KEY] = source
        if principal.user:
            scope.setdefault("state", {})["user"] = principal.user
        await self.app(scope, receive, send)
