"""voxhub's own JSON routes, ``/api/voxhub/...``: the catalog records as they are stored.

DVID's routes answer in DVID's shapes (``/api/repos/info``, ``{"Locked": ...}``), which
lose facts the numpy API needs (properties, version ids, parents in priority order,
instance configs). The remote client (:mod:`voxhub.client.remote`) reads these instead;
mutations still go through DVID's routes so that they are audited the same way.
Records are the canonical JSON of :mod:`voxhub.versioning.records`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.datatypes.level_names import check_not_a_level
from voxhub.datatypes.registry import datatype_for
from voxhub.datatypes.sync_config import build_synced, check_config_syncs
from voxhub.datatypes.wire.api import NAME_PATTERN, STRING, Api, ApiRoute, Param, json_api
from voxhub.datatypes.wire.api import object_schema as _object
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import InvalidRequest, NotFound
from voxhub.server.context import Binder, ServerContext
from voxhub.server.http import blocking, json_body, node_ref, stamp, str_field
from voxhub.versioning import records
from voxhub.versioning.catalog import InstanceInfo, NodeInfo, RepoInfo

PREFIX = "/api/voxhub"

Record = RepoInfo | NodeInfo | InstanceInfo


def _records(items: Record | list[Record]) -> Response:
    """Records as JSON (one object or a list), in their stored canonical form."""
    if isinstance(items, list):
        body = b"[" + b",".join(records.encode(r) for r in items) + b"]"
    else:
        body = records.encode(items)
    return Response(body, media_type="application/json")


def _ref(request: Request, key: str = "ref") -> str:
    return node_ref(request.path_params[key])


async def list_repos(request: Request, ctx: ServerContext) -> Response:
    """Every repo record (that the caller may see), ordered by root UUID."""
    catalog = ctx.service.catalog
    return _records(list(await small_read(ctx, lambda: ctx.viewer.repos(catalog.repos()))))


async def get_repo(request: Request, ctx: ServerContext) -> Response:
    """The record of the repo holding the node ``ref``."""
    catalog = ctx.service.catalog
    return _records(await small_read(ctx, lambda: ctx.viewer.repo(catalog.repo(_ref(request)))))


async def post_repo(request: Request, ctx: ServerContext) -> Response:
    """Change ``alias``, ``description`` or ``properties`` (left out or null: unchanged)."""
    body = await json_body(request)
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        raise InvalidRequest(f"field 'properties' must be a JSON object, got {props!r}")
    repo = await blocking(
        ctx.service.catalog.update_repo,
        _ref(request),
        alias=str_field(body, "alias") if body.get("alias") is not None else None,
        description=(
            str_field(body, "description") if body.get("description") is not None else None
        ),
        properties=props,
    )
    return _records(repo)


async def repo_by_alias(request: Request, ctx: ServerContext) -> Response:
    """The record of the repo with the alias ``?alias=`` (one index lookup); 404 if none.

    A query parameter, not a path segment: aliases may hold any text, slashes included."""
    alias = request.query_params.get("alias")
    if not alias:
        raise InvalidRequest("query parameter 'alias' is required: the alias to look up")

    def run() -> list[RepoInfo]:  # a repo the caller may not see is not found either
        found = ctx.service.catalog.repo_by_alias(alias)
        return [] if found is None else ctx.viewer.repos([found])

    shown = await small_read(ctx, run)
    if not shown:
        raise NotFound(f"no repo has the alias {alias!r}")
    return _records(shown[0])


async def list_nodes(request: Request, ctx: ServerContext) -> Response:
    """Every node record of the repo (that the caller may see), in creation order."""
    catalog = ctx.service.catalog

    def run() -> list[NodeInfo]:
        repo = catalog.repo(_ref(request))
        return ctx.viewer.nodes(repo, catalog.nodes(repo.root))

    return _records(list(await small_read(ctx, run)))


async def list_instances(request: Request, ctx: ServerContext) -> Response:
    """Every instance record of the repo, by name."""
    catalog = ctx.service.catalog
    return _records(list(await small_read(ctx, lambda: catalog.instances(_ref(request)))))


async def get_instance(request: Request, ctx: ServerContext) -> Response:
    """One instance record (404 if the repo has no such instance)."""
    name = request.path_params["name"]
    catalog = ctx.service.catalog
    return _records(await small_read(ctx, lambda: catalog.instance(_ref(request), name)))


def _validated_config(typename: str, config: Any) -> dict[str, Any]:
    """``config`` checked by the datatype's ``check_config`` hook, when it has one."""
    check = datatype_for(typename).check_config
    if not isinstance(config, dict):
        raise InvalidRequest(f"field 'config' must be a JSON object, got {config!r}")
    return config if check is None else check(typename, config)


async def create_instance(request: Request, ctx: ServerContext) -> Response:
    """Create an instance at the open node ``ref`` from ``{name, typename, config, versioned}``."""
    body = await json_body(request)
    name, typename = str_field(body, "name"), str_field(body, "typename")
    versioned = body.get("versioned", True)
    if not isinstance(versioned, bool):
        raise InvalidRequest(f"field 'versioned' must be true or false, got {versioned!r}")
    config = _validated_config(typename, body.get("config", {}))
    service = ctx.service

    def create() -> InstanceInfo:
        node = service.catalog.node(_ref(request))
        check_not_a_level(service.catalog, node.uuid, name)  # 409
        stored = check_config_syncs(service, node.repo, name, typename, config)  # 400
        info = service.catalog.create_instance(
            node.uuid, name, typename, stored, versioned=versioned, at=node.uuid
        )
        build_synced(service, node.uuid, info)
        line = stamp(ctx.caller, f"added instance {name} [{typename}] at {node.uuid}")
        service.catalog.append_repo_log(node.uuid, [line])
        return info

    return _records(await blocking(create))


async def get_node(request: Request, ctx: ServerContext) -> Response:
    """The node record: parents in priority order, children, branch, lock, note, log."""
    catalog = ctx.service.catalog
    return _records(await small_read(ctx, lambda: ctx.viewer.node(catalog.node(_ref(request)))))


async def lineage(request: Request, ctx: ServerContext) -> Response:
    """Node records from the repo root to ``ref`` along first parents."""
    catalog = ctx.service.catalog

    def run() -> list[NodeInfo]:
        return [ctx.viewer.node(n) for n in catalog.log(_ref(request))]

    return _records(list(await small_read(ctx, run)))


async def diff(request: Request, ctx: ServerContext) -> Response:
    """``{"keys": [...]}``: keys of ``instance`` whose values differ between two nodes."""
    service = ctx.service
    a, b = _ref(request), _ref(request, "other")
    name = request.path_params["instance"]

    def run() -> list[str]:
        ua, ub = service.catalog.node(a).uuid, service.catalog.node(b).uuid
        return service.diff_keys(ua, ub, name)

    return Response(json.dumps({"keys": await blocking(run)}), media_type="application/json")


def catalog_routes(bind: Binder) -> list[BaseRoute]:
    """The ``/api/voxhub`` routes."""
    repo = _object(alias=STRING, description=STRING, properties={"type": "object"})
    config = {"type": "object"}
    named = {"type": "string", "pattern": NAME_PATTERN}
    instance = _object(name=named, typename=STRING, versioned={"type": "boolean"}, config=config)
    instance_body = json_api({**instance, "required": ["name", "typename"]}, required=True)
    by_alias = Api(query=(Param("alias", STRING, "the alias to look up", required=True),))
    return [
        ApiRoute(f"{PREFIX}/repos", bind(list_repos), methods=["GET"]),
        ApiRoute(f"{PREFIX}/repos/by-alias", bind(repo_by_alias), methods=["GET"], api=by_alias),
        ApiRoute(f"{PREFIX}/repo/{{ref}}", bind(get_repo), methods=["GET"]),
        ApiRoute(f"{PREFIX}/repo/{{ref}}", bind(post_repo), methods=["POST"], api=json_api(repo)),
        ApiRoute(f"{PREFIX}/repo/{{ref}}/nodes", bind(list_nodes), methods=["GET"]),
        ApiRoute(f"{PREFIX}/repo/{{ref}}/instances", bind(list_instances), methods=["GET"]),
        ApiRoute(f"{PREFIX}/repo/{{ref}}/instance/{{name}}", bind(get_instance), methods=["GET"]),
        ApiRoute(f"{PREFIX}/node/{{ref}}", bind(get_node), methods=["GET"]),
        ApiRoute(
            f"{PREFIX}/node/{{ref}}/instance",
            bind(create_instance),
            methods=["POST"],
            api=instance_body,
        ),
        ApiRoute(f"{PREFIX}/node/{{ref}}/lineage", bind(lineage), methods=["GET"]),
        ApiRoute(f"{PREFIX}/node/{{ref}}/diff/{{other}}/{{instance}}", bind(diff), methods=["GET"]),
    ]
