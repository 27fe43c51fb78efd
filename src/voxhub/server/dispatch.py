"""Mount each datatype's routes under ``/api/node/{uuid}/{name}/...``.

The dispatcher resolves the node reference (UUID, unique prefix, ``uuid:branch``,
``:branch~N``) and the instance (404 if either is unknown) into a typed
:class:`~voxhub.datatypes.wire.context.InstanceContext` (with the service, the byte limit
and the caller), puts it in the ASGI scope under
:data:`~voxhub.datatypes.wire.context.SCOPE_KEY` and hands the request to the router
built from the instance's datatype (``Datatype.routes``), whose paths are relative to the
instance: ``/info``, ``/raw/{dims}/{size}/{offset}``, ...
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send

from voxhub.datatypes.registry import Datatype, datatype_for
from voxhub.datatypes.wire.context import SCOPE_KEY, InstanceContext, instance_context
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import CapabilityError, NotFound
from voxhub.server.auth.rules import instance_need
from voxhub.server.context import Binder
from voxhub.server.http import node_ref
from voxhub.server.observe import label_routes
from voxhub.versioning.catalog import InstanceInfo

INSTANCE_PREFIX = "/api/node/{uuid}/{name}"


async def _no_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope)
    info = instance_context(request).instance
    raise NotFound(
        f"{info.typename} instance {info.name!r} has no endpoint {request.method} "
        f"{scope.get('voxhub.instance_path', '/')}; see /api/help/{info.typename}"
    )


def datatype_routes(datatype: Datatype) -> list[BaseRoute]:
    """The instance routes of ``datatype`` (``CapabilityError`` if it has none)."""
    if datatype.routes is None:
        raise CapabilityError(f"datatype {datatype.name!r} has no HTTP routes yet")
    try:
        return datatype.routes()
    except ModuleNotFoundError as e:
        raise CapabilityError(f"HTTP routes of {datatype.name!r} are not installed: {e}") from e


class InstanceDispatcher:
    """ASGI endpoint for instance routes; one router per datatype, built on first use."""

    def __init__(self, bind: Binder) -> None:
        self._bind = bind
        self._routers: dict[str, Router] = {}

    def router_for(self, datatype: Datatype) -> Router:
        """The router serving ``datatype``'s instance routes."""
        router = self._routers.get(datatype.name)
        if router is None:
            routes = label_routes(datatype_routes(datatype), prefix=INSTANCE_PREFIX)
            router = Router(routes=routes, default=_no_endpoint, redirect_slashes=False)
            self._routers[datatype.name] = router
        return router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        params = request.path_params
        server = self._bind.context(request)
        catalog = server.service.catalog
        ref, name = node_ref(params["uuid"]), params["name"]

        def resolve() -> tuple[str, InstanceInfo]:
            node = catalog.node(ref)
            server.viewer.check_node(instance_need(request.method), node)  # 401/403
            return node.uuid, catalog.instance(node.uuid, name)

        uuid, info = await small_read(server, resolve)
        ctx = InstanceContext(
            access=server.service,
            node_uuid=uuid,
            instance=info,
            max_request_bytes=server.settings.max_request_bytes,
            caller=server.caller,
        )
        router = self.router_for(datatype_for(info.typename))
        rest = "/" + params.get("rest", "")
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
