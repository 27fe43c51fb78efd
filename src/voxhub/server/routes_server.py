"""Server-level routes: ``/api/server/*``, ``/api/repos/info``, ``POST /api/repos``."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.registry import typenames
from voxhub.datatypes.wire.api import STRING, TEXT, Api, ApiRoute, json_api
from voxhub.datatypes.wire.api import object_schema as _object
from voxhub.server.context import Binder, ServerContext
from voxhub.server.describe import type_url
from voxhub.server.http import blocking, json_body, str_field
from voxhub.server.repo_json_bytes import repos_json_bytes

_STARTED = time.monotonic()
#: the DVID release whose HTTP API voxhub implements, formatted as DVID reports its own
#: version: clients parse it (neuclease splits ``v1.0.0`` on ``.``/``-`` into integers to
#: pick features, e.g. ``mappings?format=binary`` from v0.8.24-15 on), so no suffix here.
DVID_API_VERSION = "v1.0.0"
#: the field of ``/api/server/info`` naming voxhub's own version (how the numpy API
#: tells a voxhub server from a DVID server)
VOXHUB_VERSION_FIELD = "voxhub Version"


def voxhub_version() -> str:
    """The installed voxhub version (``"dev"`` from a source tree)."""
    try:
        return version("voxhub")
    except PackageNotFoundError:
        return "dev"


async def server_info(request: Request, ctx: ServerContext) -> Response:
    """DVID's server info: a JSON map of strings."""
    service = ctx.service
    spec = service.store.spec()
    return JSONResponse(
        {
            "Cores": str(os.cpu_count() or 1),
            "Maximum Cores": str(os.cpu_count() or 1),
            "Datastore Version": "1",
            "DVID Version": DVID_API_VERSION,
            VOXHUB_VERSION_FIELD: voxhub_version(),
            # where the data lives is for administrators (all callers when auth is off)
            "Storage backend": spec if ctx.viewer.principal.admin else spec.split(":")[0],
            "Server time": datetime.now(UTC).isoformat(),
            "Server uptime": f"{time.monotonic() - _STARTED:.0f}s",
            "Host": request.url.netloc,
            "Max Request Bytes": str(ctx.settings.max_request_bytes),
            "Note": "voxhub: a DVID-compatible versioned image service; see /api/help",
        }
    )


async def server_types(request: Request, ctx: ServerContext) -> Response:
    """``{typename: typeURL}`` of the types that have instances in some repo."""
    service = ctx.service

    def used() -> set[str]:
        repos = ctx.viewer.repos(service.catalog.repos())
        return {i.typename for r in repos for i in service.catalog.instances(r.root)}

    names = await blocking(used)
    return JSONResponse({t: type_url(t) for t in sorted(names)})


async def compiled_types(request: Request) -> Response:
    """``{typename: typeURL}`` of every type this server can serve."""
    return JSONResponse({t: type_url(t) for t in typenames()})


async def repos_info(request: Request, ctx: ServerContext) -> Response:
    """Every repo, keyed by root UUID (what neuroglancer's ``dvid://`` source reads)."""
    service = ctx.service

    def collect() -> bytes:
        viewer = ctx.viewer  # only the repos, and nodes, the caller may see
        repos = viewer.repos(service.catalog.repos())
        return repos_json_bytes(service, [(r.root, viewer.visible(r)) for r in repos])

    return Response(await blocking(collect), media_type="application/json")


async def create_repo(request: Request, ctx: ServerContext) -> Response:
    """``{alias, description, root}`` → ``{"root": uuid}``."""
    body = await json_body(request)
    alias, description = str_field(body, "alias"), str_field(body, "description")
    root = str_field(body, "root") or None
    repo = await blocking(ctx.service.catalog.create_repo, alias, description, root=root)
    return JSONResponse({"root": repo.root})


async def heartbeat(request: Request) -> Response:
    """``OK``: liveness for load balancers and DVID clients."""
    return PlainTextResponse("OK")


def server_routes(bind: Binder) -> list[BaseRoute]:
    """The server-level routes."""
    repo = json_api(_object(alias=STRING, description=STRING, root=STRING))
    return [
        ApiRoute("/api/server/info", bind(server_info), methods=["GET"]),
        ApiRoute("/api/server/types", bind(server_types), methods=["GET"]),
        ApiRoute("/api/server/compiled-types", compiled_types, methods=["GET"]),
        ApiRoute("/api/heartbeat", heartbeat, methods=["GET"], api=Api(answers=(TEXT,))),
        ApiRoute("/api/repos/info", bind(repos_info), methods=["GET"]),
        ApiRoute("/api/repos", bind(create_repo), methods=["POST"], api=repo),
    ]
