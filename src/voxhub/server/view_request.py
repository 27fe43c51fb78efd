"""The light request of the views' file routes (chunks and shards), and their routes.

Viewers fetch a volume as thousands of small files, one request each, and a cached
chunk's answer is only a lookup: Starlette's per-request machinery of a function endpoint
(a ``Request``, the exception wrapper and its ``send`` layer, the handler's
``ServerContext`` from a parsed query) cost about as much as the answer itself. A
:func:`view_route` is a plain ASGI endpoint instead: it hands its handler a
:class:`ViewRequest` (the path parameters and the headers, read once into a ``dict``)
and the context the :class:`~voxhub.server.context.Binder` makes from the scope, and sends
the handler's ``Response``.

Everything around the endpoint is unchanged: the middleware (Observe, Host, CORS,
authentication, limits), the router, the route's label and its access rule
(:mod:`voxhub.server.auth.guard` wraps this endpoint like any other). An exception
raised by the handler reaches the application's exception middleware, which answers it
with the same handlers (:mod:`voxhub.server.errors`) as a function endpoint's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from voxhub.datatypes.wire.api import Api, ApiRoute
from voxhub.server.context import Binder, ServerContext


class HasPath(Protocol):
    """What resolving a view URL reads of a request: its path parameters (of a
    Starlette ``Request``, or of a :class:`ViewRequest`)."""

    @property
    def path_params(self) -> dict[str, Any]: ...

    @property
    def scope(self) -> Scope: ...


class ViewRequest:
    """A request's path parameters and headers (names as the server gave them, lower
    case in ASGI; the first of repeated headers wins, as with Starlette's ``Headers``)."""

    __slots__ = ("headers", "path_params", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.path_params: dict[str, Any] = scope.get("path_params", {})
        self.headers: dict[str, str] = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in reversed(scope.get("headers", ()))
        }


ViewHandler = Callable[[ViewRequest, ServerContext], Awaitable[Response]]


class ViewEndpoint:
    """The ASGI endpoint of a view file route (see the module docstring)."""

    def __init__(self, bind: Binder, handler: ViewHandler) -> None:
        self.bind = bind
        self.handler = handler
        self.__doc__ = handler.__doc__  # the route's help and OpenAPI description
        self.__name__ = handler.__name__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = ViewRequest(scope)
        response = await self.handler(request, self.bind.scope_context(scope))
        await response(scope, receive, send)


def view_route(
    path: str, bind: Binder, handler: ViewHandler, *, api: Api | None = None
) -> ApiRoute:
    """A ``GET`` (and ``HEAD``) route of a view file served by ``handler``."""
    return ApiRoute(path, ViewEndpoint(bind, handler), methods=["GET"], api=api)
