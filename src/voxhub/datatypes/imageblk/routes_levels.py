"""Read-only routes of a pyramid level served as DVID's instance ``<name>_N``.

The dispatcher resolves ``/api/node/{uuid}/em_2/...`` (when no instance ``em_2`` exists
and the image ``em`` has level 2) to ``em`` with ``ctx.level == 2`` and routes it here
(writes never get this far: they are refused by the dispatcher). ``info`` and ``metadata``
describe the level (:mod:`.levels`); every read route of an image that takes ``?scale=``
(``raw``, ``isotropic``, ``subvolblocks``, ``specificblocks``, ``blocks``, ``arb``,
``extents``) serves the level by reading the base instance at scale ``level + scale``,
so the voxels are the stored pyramid blocks, byte for byte. A read route without
``?scale=`` cannot address a level and is not served.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.imageblk.levels import (
    level_info_json,
    level_metadata_json,
    level_name,
    top_level,
)
from voxhub.datatypes.wire.api import SCALE, ApiRoute
from voxhub.datatypes.wire.context import InstanceContext, instance_context, instance_route
from voxhub.datatypes.wire.numbers import parse_int
from voxhub.datatypes.wire.offload import small_read

Endpoint = Callable[[Request], Awaitable[Response]]


async def get_level_info(request: Request, ctx: InstanceContext) -> Response:
    """The level as a DVID instance: voxel size and extents of that level."""
    body = await small_read(
        ctx, lambda: level_info_json(ctx.access, ctx.node_uuid, ctx.instance, ctx.level)
    )
    return JSONResponse(body)


async def get_level_metadata(request: Request, ctx: InstanceContext) -> Response:
    """DVID's ``metadata`` of the level."""
    body = await small_read(
        ctx, lambda: level_metadata_json(ctx.access, ctx.node_uuid, ctx.instance, ctx.level)
    )
    return Response(json.dumps(body), media_type="application/vnd.dvid-nd-data+json")


def shifted_query(request: Request, ctx: InstanceContext) -> bytes:
    """The query string with ``scale`` counted from the base instance's scale 0."""
    above = top_level(ctx.config) - ctx.level
    name = level_name(ctx.instance.name, ctx.level)
    given = parse_int(request.query_params.get("scale", "0"), f"scale of {name!r}", 0, above)
    kept = [
        (k, v)
        for k, v in parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), True)
        if k != "scale"
    ]
    return urlencode([*kept, ("scale", str(ctx.level + given))]).encode("latin-1")


def at_level(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` (an image read route taking ``?scale=``) serving the level."""

    @functools.wraps(endpoint)
    async def shifted(request: Request) -> Response:
        ctx = instance_context(request)
        scope = dict(request.scope, query_string=shifted_query(request, ctx))
        return await endpoint(Request(scope, request.receive))

    return shifted


def level_routes() -> list[BaseRoute]:
    """The routes of a level, paths relative to ``/api/node/{uuid}/{name}_{level}``."""
    from voxhub.datatypes.imageblk.routes import image_routes

    get = ["GET"]
    routes: list[BaseRoute] = [
        instance_route("/info", get_level_info, methods=get),
        instance_route("/metadata", get_level_metadata, methods=get),
    ]
    for route in image_routes():
        if (
            isinstance(route, ApiRoute)
            and route.methods is not None
            and "POST" not in route.methods
            and SCALE in route.api.query
        ):
            routes.append(
                ApiRoute(route.path, at_level(route.endpoint), methods=get, api=route.api)
            )
    return routes
