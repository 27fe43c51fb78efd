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

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from voxhub.datatypes.wire.context import DEFAULT_MAX_REQUEST_BYTES, Caller
from voxhub.server.auth.gate import Gate
from voxhub.server.limits import ServerLimits
from voxhub.server.view_cache import DEFAULT_VIEW_CACHE_BYTES, SharedTier, ViewCache
from voxhub.server.view_names import ViewNames
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
    #: bytes of encoded view answers (precomputed/Zarr chunks, shards, meshes) kept per
    #: process (:mod:`voxhub.server.view_cache`); 0 turns the cache off
    view_cache_bytes: int = DEFAULT_VIEW_CACHE_BYTES
    #: compress view answers to clients on this machine too (:mod:`.local_peer`: by
    #: default they go as they are; ``voxhub serve --compress-loopback``)
    compress_loopback: bool = False

    def __post_init__(self) -> None:
        if self.max_request_bytes <= 0:
            raise ValueError(f"max_request_bytes must be positive, got {self.max_request_bytes}")
        if self.view_cache_bytes < 0:
            raise ValueError(f"view_cache_bytes cannot be negative, got {self.view_cache_bytes}")


@dataclass(frozen=True)
class ServerContext:
    """One request as a route sees it: the service, the settings and the caller (with
    what it may see: listings go through ``viewer``)."""

    service: Service
    settings: ServerSettings
    caller: Caller
    viewer: Viewer = field(default_factory=Viewer)
    #: this process's cache of encoded view answers (an empty, disabled one by default)
    view_cache: ViewCache = field(default_factory=lambda: ViewCache(0))
    #: this process's resolved view names (:mod:`voxhub.server.view_names`); ``None``:
    #: resolved on every request
    view_names: ViewNames | None = None

    @property
    def fast_reads(self) -> bool:
        """Whether small reads may run on the event loop (see ``datatypes.wire.offload``)."""
        return self.service.fast_reads


_NOBODY = Caller()

Handler = Callable[[Request, ServerContext], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Binder:
    """Turns ``handler(request, ctx)`` into a Starlette endpoint ``endpoint(request)``."""

    service: Service
    settings: ServerSettings
    gate: Gate | None = None
    #: the answers this server's worker processes share (:mod:`.view_cache_shared`)
    shared_view_cache: SharedTier | None = None
    #: one cache per process, shared by every request this binder serves
    view_cache: ViewCache = field(init=False)
    #: one per process too: the node and instance each view URL names
    view_names: ViewNames = field(init=False)

    def __post_init__(self) -> None:
        cache = ViewCache(self.settings.view_cache_bytes, shared=self.shared_view_cache)
        object.__setattr__(self, "view_cache", cache)
        object.__setattr__(self, "view_names", ViewNames(self.service.store))

    def context(self, request: Request) -> ServerContext:
        """The context of ``request``; an authenticated user is the recorded user,
        whatever DVID's ``?u=`` says."""
        return self.scope_context(request.scope)

    def scope_context(self, scope: Scope) -> ServerContext:
        """:meth:`context` of the request ``scope`` belongs to."""
        # most requests have no query: skip parsing one (DVID's ?u=&app= name the caller)
        query = scope.get("query_string")
        caller = Caller.from_query(QueryParams(query)) if query else _NOBODY
        if self.gate is None:
            return ServerContext(
                self.service,
                self.settings,
                caller,
                view_cache=self.view_cache,
                view_names=self.view_names,
            )
        viewer = self.gate.viewer(scope)
        if viewer.principal.user:
            caller = Caller(viewer.principal.user, caller.app)
        return ServerContext(
            self.service, self.settings, caller, viewer, self.view_cache, self.view_names
        )

    def __call__(self, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await handler(request, self.context(request))

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        endpoint.__dict__.update(getattr(handler, "__dict__", {}))  # markers such as audit's
        return endpoint
