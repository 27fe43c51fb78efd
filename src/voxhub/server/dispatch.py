"""Mount each datatype's routes under ``/api/node/{uuid}/{name}/...``.

The dispatcher resolves the node reference (UUID, unique prefix, ``uuid:branch``,
``:branch~N``) and the instance (404 if either is unknown) into a typed
:class:`~voxhub.datatypes.wire.context.InstanceContext` (with the service, the byte limit
and the caller), puts it in the ASGI scope under
:data:`~voxhub.datatypes.wire.context.SCOPE_KEY` and hands the request to the router
built from the instance's datatype (``Datatype.routes``), whose paths are relative to the
instance: ``/info``, ``/raw/{dims}/{size}/{offset}``, ...

A name that no instance has but that names a pyramid level in DVID's way (``em_2``:
level 2 of ``em``, :mod:`.level_names`) is served by the datatype's ``level_routes``
with ``ctx.level`` set; only GET and HEAD: any other method is 405 naming the instance
to write to.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send

from voxhub.datatypes.level_names import level_of
from voxhub.datatypes.registry import Datatype, datatype_for
from voxhub.datatypes.wire.context import SCOPE_KEY, InstanceContext, instance_context
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import CapabilityError, NotFound
from voxhub.server.auth.rules import instance_need
from voxhub.server.context import Binder
from voxhub.server.http import node_ref
from voxhub.server.observe import label_routes
from voxhub.server.prefix_router import PrefixRouter
from voxhub.server.routes_sync import sync_routes
from voxhub.server.routes_tags import tag_routes
from voxhub.versioning.catalog import InstanceInfo

INSTANCE_PREFIX = "/api/node/{uuid}/{name}"


async def _no_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope)
    ctx = instance_context(request)
    info = ctx.instance
    if ctx.level:
        raise NotFound(
            f"{info.name}_{ctx.level} (pyramid level {ctx.level} of {info.typename} instance "
            f"{info.name!r}) serves info, metadata and the reads that take ?scale=, not "
            f"{request.method} {scope.get('voxhub.instance_path', '/')}"
        )
    raise NotFound(
        f"{info.typename} instance {info.name!r} has no endpoint {request.method} "
        f"{scope.get('voxhub.instance_path', '/')}; see /api/help/{info.typename}"
    )


def _read_only(name: str, base: InstanceInfo, level: int) -> HTTPException:
    return HTTPException(
        405,
        f"{name!r} is pyramid level {level} of {base.typename} instance {base.name!r}, "
        f"served read-only; write to {base.name!r} (scale 0), its levels follow",
        headers={"Allow": "GET, HEAD"},
    )


def datatype_routes(datatype: Datatype) -> list[BaseRoute]:
    """The instance routes of ``datatype`` (``CapabilityError`` if it has none), with
    DVID's instance ``tags`` that every datatype shares and ``POST sync`` for those that
    follow other instances."""
    if datatype.routes is None:
        raise CapabilityError(f"datatype {datatype.name!r} has no HTTP routes yet")
    try:
        syncs = sync_routes() if datatype.sync_targets else []
        return [*datatype.routes(), *tag_routes(), *syncs]
    except ModuleNotFoundError as e:
        raise CapabilityError(f"HTTP routes of {datatype.name!r} are not installed: {e}") from e


class InstanceDispatcher:
    """ASGI endpoint for instance routes; one router per datatype, built on first use."""

    def __init__(self, bind: Binder) -> None:
        self._bind = bind
        self._routers: dict[tuple[str, bool], Router] = {}

    def router_for(self, datatype: Datatype, *, level: bool = False) -> Router:
        """The router serving ``datatype``'s instance routes (``level``: its routes of a
        pyramid level served under DVID's ``<name>_N``)."""
        router = self._routers.get((datatype.name, level))
        if router is None:
            if not level:
                found = datatype_routes(datatype)
            elif datatype.level_routes is not None:
                found = datatype.level_routes()
            else:
                raise CapabilityError(f"pyramid levels of {datatype.name!r} have no routes")
            routes = label_routes(found, prefix=INSTANCE_PREFIX)
            router = PrefixRouter(routes=routes, default=_no_endpoint, redirect_slashes=False)
            self._routers[(datatype.name, level)] = router
        return router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        params = request.path_params
        server = self._bind.context(request)
        catalog = server.service.catalog
        ref, name = node_ref(params["uuid"]), params["name"]

        rest = "/" + params.get("rest", "")

        def resolve() -> tuple[str, InstanceInfo, int]:
            node = catalog.node(ref)
            need = instance_need(request.method)
            # a POST may be a query (the datatype says): a reader may ask, so only a
            # reader's right is checked before the instance is known
            maybe_read = request.method == "POST"
            server.viewer.check_node(instance_need("GET") if maybe_read else need, node)
            try:
                info = catalog.instance(node.uuid, name)
            except NotFound:
                found = level_of(catalog, node.uuid, name)  # a real instance wins
                if found is None:
                    raise
                if request.method not in ("GET", "HEAD"):
                    server.viewer.check_node(need, node)  # who first, then what
                    raise _read_only(name, *found) from None
                return node.uuid, *found
            if maybe_read and rest.rstrip("/") not in datatype_for(info.typename).read_posts:
                server.viewer.check_node(need, node)  # 401/403
            return node.uuid, info, 0

        uuid, info, level = await small_read(server, resolve)
        ctx = InstanceContext(
            access=server.service,
            node_uuid=uuid,
            instance=info,
            max_request_bytes=server.settings.max_request_bytes,
            caller=server.caller,
            level=level,
        )
        router = self.router_for(datatype_for(info.typename), level=level > 0)
        full = scope["path"]
        prefix = full[: len(full) - len(rest)] if full.endswith(rest) else full
        # scope["path"] holds the root path too, so the prefix is the child's root path.
        child = dict(scope, root_path=prefix, path=prefix + rest)
        child["voxhub.instance_path"] = rest
        child[SCOPE_KEY] = ctx
        await router(child, receive, send)


def instance_routes(bind: Binder) -> list[BaseRoute]:
    """The catch-all routes that dispatch to instance routes."""
    dispatcher = InstanceDispatcher(bind)
    methods = ["GET", "HEAD", "POST", "PUT", "DELETE"]
    return [
        Route(INSTANCE_PREFIX + "/{rest:path}", dispatcher, methods=methods),
        Route(INSTANCE_PREFIX, dispatcher, methods=methods),
    ]
