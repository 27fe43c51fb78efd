"""The typed context an instance route receives: who serves it, what it addresses, limits.

The server's dispatcher resolves the node and the instance of ``/api/node/{uuid}/{name}/``
once, builds an :class:`InstanceContext` and hands it to the datatype's routes in the ASGI
scope. Routes declared with :func:`instance_route` receive it as their second argument,
``async def handler(request, ctx)``; nothing reads ``request.app.state``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.wire.api import Api, ApiRoute
from voxhub.datatypes.wire.audit import LOGS_MUTATIONS, READ_METHODS, logged
from voxhub.errors import InvalidRequest
from voxhub.versioning.records import InstanceInfo

#: the ASGI scope key holding the :class:`InstanceContext` of an instance request
SCOPE_KEY = "voxhub.instance_context"
#: default limit on one request body or cutout (1 GiB, a 1024³ uint8 cutout)
DEFAULT_MAX_REQUEST_BYTES = 1 << 30


@dataclass(frozen=True)
class Caller:
    """Who made a request, from DVID's ``?u=<user>&app=<app>`` (empty when not given)."""

    user: str = ""
    app: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Caller:
        return cls(query.get("u", ""), query.get("app", ""))


@dataclass(frozen=True)
class InstanceContext:
    """One request to one instance at one node."""

    #: the catalog and store serving the request (the service layer)
    access: StoreAccess
    #: the node the URL named, resolved to its full UUID
    node_uuid: str
    #: the instance the URL named, as the catalog records it
    instance: InstanceInfo
    #: the largest body or cutout a request may move, in bytes (413 beyond)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    caller: Caller = Caller()
    #: the pyramid level a derived ``<name>_N`` instance (DVID's name for downres levels,
    #: served read-only from the base instance's own levels) addresses; 0 for the
    #: instance itself. ``instance`` is then the base instance.
    level: int = 0

    @property
    def fast_reads(self) -> bool:
        """Whether small reads of the store may run on the event loop (see ``offload``)."""
        return bool(getattr(self.access.store, "low_latency_reads", False))

    @property
    def config(self) -> dict[str, Any]:
        """The instance's stored configuration."""
        return self.instance.config


def instance_context(request: Request) -> InstanceContext:
    """The context the dispatcher resolved for this instance request."""
    ctx = request.scope.get(SCOPE_KEY)
    if not isinstance(ctx, InstanceContext):
        # Only reachable if a datatype's routes are mounted without the dispatcher.
        raise InvalidRequest(f"{request.url.path} was not resolved to a data instance")
    return ctx


InstanceHandler = Callable[[Request, InstanceContext], Awaitable[Response]]


def instance_route(
    path: str, handler: InstanceHandler, *, methods: list[str], api: Api | None = None
) -> ApiRoute:
    """A route of an instance (``path`` relative to ``/api/node/{uuid}/{name}``) whose
    handler receives the request and its :class:`InstanceContext`; ``api`` describes its
    query parameters and bodies for ``/api/openapi.json``. A route with any method that
    is not a read is :func:`~voxhub.datatypes.wire.audit.logged`: its writes add the
    caller's line to the node log."""
    writes = not READ_METHODS.issuperset(m.upper() for m in methods)
    run = logged(handler) if writes else handler

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        return await run(request, instance_context(request))

    if writes:
        setattr(endpoint, LOGS_MUTATIONS, True)
    return ApiRoute(path, endpoint, methods=methods, api=api)
