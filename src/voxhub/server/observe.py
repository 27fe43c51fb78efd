"""What each request was, as the outermost middleware saw it: one :class:`RequestRecord`.

:class:`Observe` is the outermost middleware of the app, so it sees exactly what went on
the wire, 413s, CORS preflights and refused requests too. For each HTTP request it

* takes the request id from an incoming ``X-Request-ID`` when that is sane (1–128
  characters of letters, digits and ``._:;=+/-``), else makes one, and echoes it in the
  response's ``X-Request-ID`` header (a request that fails with an unhandled exception is
  answered by Starlette's outer error handler, without it);
* counts the request body bytes received and the response body bytes sent, the status
  and the time from arrival to the last body byte (status 500 if the app raised before
  answering);
* learns the route *template* (``/api/node/{uuid}/{name}/raw/{dims}/{size}/{offset}``,
  never the raw path) from the route that served it (:func:`label_routes`), or, for a
  request refused before its route's app ran (401, 403, 405), from the route Starlette's
  router chose (:func:`note_route`, called by the error handlers); a request no route
  took (404 from the router, 413 before routing, a preflight) is ``unmatched``, so labels
  stay bounded however many paths clients try;
* hands the finished record to its sinks (:mod:`.metrics`, :mod:`.access_log`) just
  before the last body byte is sent (or when the app failed).

The authenticated user, when the auth layer put one on the scope
(``scope["state"]["user"]``), is read after the request; the middleware makes sure the
scope has a ``state`` dict before passing it on, so whatever an inner layer stores there
is seen here.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the ASGI scope key holding the :class:`RequestRecord` of a request
RECORD_KEY = "voxhub.request"
#: the request and response header carrying the request id
REQUEST_ID_HEADER = "x-request-id"
#: the route label of a request no route served
UNMATCHED = "unmatched"

_SANE_ID = re.compile(rb"[A-Za-z0-9._:;=+/-]{1,128}")


@dataclass(slots=True)
class RequestRecord:
    """One HTTP request, filled in as it is served."""

    request_id: str
    method: str
    path: str
    query: str
    #: the template of the route that served it, or :data:`UNMATCHED`
    route: str = UNMATCHED
    status: int = 500
    #: request body bytes received
    received: int = 0
    #: response body bytes sent
    sent: int = 0
    #: from arrival to the last body byte handed to the server (or the failure)
    seconds: float = 0.0
    #: the scope's ``state`` dict (the auth layer's ``user`` lives there)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> str | None:
        """The authenticated user's name, if the auth layer recorded one."""
        return user_name(self.state.get("user"))


def user_name(user: object) -> str | None:
    """The name of the caller the auth layer stored: a string, or an object with a
    ``user`` (the auth layer's principal; empty when anonymous) or ``name``; ``None`` for
    nobody."""
    if user is None or isinstance(user, str):
        return user or None
    for attribute in ("user", "name"):
        name = getattr(user, attribute, None)
        if isinstance(name, str):
            return name or None
    return None


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-ID`` if sane, else a fresh random one (32 hex digits)."""
    for key, value in headers:
        if key == b"x-request-id":
            if _SANE_ID.fullmatch(value):
                return value.decode("ascii")
            break
    # Not a secret, only unique: the random module's generator (reseeded in each forked
    # worker) instead of secrets, whose getrandom() system call cost ≈3 µs a request.
    return f"{random.getrandbits(128):032x}"


def request_record(scope: Scope) -> RequestRecord | None:
    """The record of the request ``scope`` belongs to (``None`` outside :class:`Observe`)."""
    record = scope.get(RECORD_KEY)
    return record if isinstance(record, RequestRecord) else None


Sink = Callable[[RequestRecord], None]


class Observe:
    """Pure ASGI middleware building a :class:`RequestRecord` per HTTP request and handing
    it to ``sinks`` as the response's last body byte goes out (or the app failed)."""

    def __init__(self, app: ASGIApp, sinks: Sequence[Sink] = ()) -> None:
        self.app = app
        self.sinks = tuple(sinks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        record = RequestRecord(
            request_id_from(scope.get("headers", ())),
            scope.get("method", ""),
            scope.get("path", ""),
            scope.get("query_string", b"").decode("latin-1"),
            state=state,
        )
        scope[RECORD_KEY] = record
        id_header = (b"x-request-id", record.request_id.encode("ascii"))
        finished = False

        def finish() -> None:
            nonlocal finished
            finished = True
            record.seconds = time.perf_counter() - start
            for sink in self.sinks:
                sink(record)

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                record.received += len(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = int(message["status"])
                message = dict(message, headers=[*message.get("headers", ()), id_header])
            elif message["type"] == "http.response.body":
                record.sent += len(message.get("body", b""))
                if not message.get("more_body", False):
                    # before the last byte goes out: a client that has its whole response
                    # finds it counted by the next scrape, whichever worker answers that
                    finish()
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            if not finished:
                finish()


def note_route(scope: Scope) -> None:
    """Record the template of the route Starlette's router chose for ``scope``, if the
    route's app did not run (the error handlers call this: a request refused by an auth
    guard, or a 405, still counts under its route)."""
    record = scope.get(RECORD_KEY)
    route = scope.get("route")
    if record is not None and record.route == UNMATCHED and isinstance(route, Route):
        record.route = route.path_format


class _Labelled:
    """A route's ASGI app that first writes the route's template into the request record."""

    __slots__ = ("app", "template")

    def __init__(self, app: ASGIApp, template: str) -> None:
        self.app = app
        self.template = template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        record = scope.get(RECORD_KEY)
        if record is not None:
            record.route = self.template
        await self.app(scope, receive, send)


def label_routes(routes: list[BaseRoute], prefix: str = "") -> list[BaseRoute]:
    """Make each route of ``routes`` record its template (``prefix`` + its path) in the
    request record when it serves a request; returns ``routes``, changed in place.

    The dispatcher's catch-all for instance routes records ``/api/node/{uuid}/{name}/{rest}``
    first, then the datatype route that serves the request replaces it with its own
    template under the same prefix.
    """
    for route in routes:
        if isinstance(route, Route) and not isinstance(route.app, _Labelled):
            route.app = _Labelled(route.app, prefix + route.path_format)
    return routes
