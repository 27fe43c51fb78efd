"""The typed context every server route receives, and the binding that supplies it.

``create_app`` builds one :class:`Binder` over the :class:`~voxhub.service.Service` and
the :class:`ServerSettings`; route modules wrap their handlers with it, so a handler is
``async def handler(request, ctx: ServerContext)`` and never reads ``request.app.state``.
Instance routes get the narrower
:class:`~voxhub.datatypes.wire.context.InstanceContext` from the dispatcher.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from voxhub.datatypes.wire.context import DEFAULT_MAX_REQUEST_BYTES, Caller
from voxhub.server.auth.gate import Gate
from voxhub.server.limits import ServerLimits
from voxhub.service import Service
from voxhub.service.auth import AuthConfig, Viewer


@dataclass(frozen=True)
class ServerSettings:
    """What an operator configures for one server process."""

    #: the largest request body or cutout, in bytes (413 beyond)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    #: one structured log line per request (``voxhub serve --access-log``)
    access_log: bool = False
    #: who may do what (``voxhub serve --auth``); off by default
    auth: AuthConfig = field(default_factory=AuthConfig)
    #: timeouts, JSON size, large-request admission (:mod:`voxhub.server.limits`)
    limits: ServerLimits = field(default_factory=ServerLimits)

    def __post_init__(self) -> None:
        if self.max_request_bytes <= 0:
            raise ValueError(f"max_request_bytes must be positive, got {self.max_request_bytes}")


@dataclass(frozen=True)
class ServerContext:
    """One request as a route sees it: the service, the settings and the caller (with
    what it may see: listings go through ``viewer``)."""

    service: Service
    settings: ServerSettings
    caller: Caller
    viewer: Viewer = field(default_factory=Viewer)

    @property
    def fast_reads(self) -> bool:
        """Whether small reads may run on the event loop (see ``datatypes.wire.offload``)."""
        return self.service.fast_reads


Handler = Callable[[Request, ServerContext], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Binder:
    """Turns ``handler(request, ctx)`` into a Starlette endpoint ``endpoint(request)``."""

    service: Service
    settings: ServerSettings
    gate: Gate | None = None

    def context(self, request: Request) -> ServerContext:
        """The context of ``request``; an authenticated user is the recorded user,
        whatever DVID's ``?u=`` says."""
        caller = Caller.from_query(request.query_params)
        if self.gate is None:
            return ServerContext(self.service, self.settings, caller)
        viewer = self.gate.viewer(request.scope)
        if viewer.principal.user:
            caller = Caller(viewer.principal.user, caller.app)
        return ServerContext(self.service, self.settings, caller, viewer)

    def __call__(self, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await handler(request, self.context(request))

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        endpoint.__dict__.update(getattr(handler, "__dict__", {}))  # markers such as audit's
        return endpoint
