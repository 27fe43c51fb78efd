"""Repo-level routes: ``/api/repo/{uuid}/...`` where ``{uuid}`` names any node of the repo."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.level_names import check_not_a_level
from voxhub.datatypes.sync_config import build_synced, check_config_syncs
from voxhub.datatypes.wire.api import STRING, STRINGS, TEXT, Api, ApiRoute, json_api
from voxhub.datatypes.wire.api import object_schema as _object
from voxhub.errors import CapabilityError, InvalidRequest
from voxhub.server.context import Binder, ServerContext
from voxhub.server.http import (
    blocking,
    dvid_branch,
    json_body,
    node_ref,
    stamp,
    str_field,
    str_list_field,
)
from voxhub.server.repo_json_bytes import repo_json_bytes
from voxhub.server.settings import parse_new_instance
from voxhub.versioning.catalog import NodeInfo


def _ref(request: Request) -> str:
    return node_ref(request.path_params["uuid"])


async def repo_exists(request: Request, ctx: ServerContext) -> Response:
    """HEAD: 200 if the repo exists, 404 if not (DVID: 400)."""
    repo = await blocking(ctx.service.catalog.repo, _ref(request))
    return PlainTextResponse(f"repo {repo.root} exists")


async def get_info(request: Request, ctx: ServerContext) -> Response:
    """The repo JSON."""
    service = ctx.service
    repo = await blocking(service.catalog.repo, _ref(request))
    visible = await blocking(ctx.viewer.visible, repo)
    body = await blocking(repo_json_bytes, service, repo.root, visible)
    return Response(body, media_type="application/json")


async def post_info(request: Request, ctx: ServerContext) -> Response:
    """Change ``alias``/``description``; keys left out are unchanged."""
    body = await json_body(request)
    alias = str_field(body, "alias") if "alias" in body else None
    description = str_field(body, "description") if "description" in body else None
    await blocking(
        ctx.service.catalog.update_repo, _ref(request), alias=alias, description=description
    )
    return Response(status_code=200)


async def create_instance(request: Request, ctx: ServerContext) -> Response:
    """Create a data instance at the named (open) node from DVID's string settings:
    ``{"result": "Added ...", "IgnoredSettings": [names the type does not use]}``."""
    service = ctx.service
    new = parse_new_instance(await json_body(request))

    def create() -> str:
        node = service.catalog.node(_ref(request))
        check_not_a_level(service.catalog, node.uuid, new.name)  # 409
        config = check_config_syncs(service, node.repo, new.name, new.typename, new.config)
        info = service.catalog.create_instance(
            node.uuid,
            new.name,
            new.typename,
            config,
            versioned=new.versioned,
            at=node.uuid,
            ignored_settings=new.ignored,
            tags=new.tags,
        )
        build_synced(service, node.uuid, info)
        line = stamp(ctx.caller, f"added instance {new.name} [{new.typename}] at {node.uuid}")
        service.catalog.append_repo_log(node.uuid, [line])
        return node.uuid

    uuid = await blocking(create)
    result = f"Added {new.name} [{new.typename}] to node {uuid}"
    return JSONResponse({"result": result, "IgnoredSettings": list(new.ignored)})


async def get_log(request: Request, ctx: ServerContext) -> Response:
    """``{"log": [...]}`` of the repo."""
    repo = await blocking(ctx.service.catalog.repo, _ref(request))
    return JSONResponse({"log": list(repo.log)})


async def post_log(request: Request, ctx: ServerContext) -> Response:
    """Append ``{"log": [...]}`` lines, each stamped with time, user and app."""
    lines = str_list_field(await json_body(request), "log")
    stamped = [stamp(ctx.caller, line) for line in lines]
    await blocking(ctx.service.catalog.append_repo_log, _ref(request), stamped)
    return Response(status_code=200)


async def branch_versions(request: Request, ctx: ServerContext) -> Response:
    """UUIDs from the branch leaf back to the root; ``[]`` for an unknown branch."""
    branch = dvid_branch(request.path_params["name"])
    catalog = ctx.service.catalog

    def run() -> list[str]:
        uuids = catalog.branch_versions(_ref(request), branch)
        visible = ctx.viewer.visible(catalog.repo(_ref(request)))
        return [u for u in uuids if visible is None or u in visible]

    return JSONResponse(await blocking(run))


def _merge(
    ctx: ServerContext, request: Request, parents: list[str], note: str, resolve: bool
) -> NodeInfo:
    service = ctx.service
    root = service.catalog.repo(_ref(request)).root
    uuids = [service.catalog.node(p).uuid for p in parents]
    for u in uuids:
        if service.catalog.node(u).repo != root:
            raise InvalidRequest(f"merge parent {u} is not in repo {root}")
    child = service.merge_nodes(uuids, note, resolve)
    kind = "resolve" if resolve else "merge"
    service.catalog.append_node_log(
        child.uuid, [stamp(ctx.caller, f"{kind} of {', '.join(uuids)}")]
    )
    return child


async def merge(request: Request, ctx: ServerContext) -> Response:
    """A conflict-free merge of committed parents; 409 with the conflict report."""
    body = await json_body(request)
    merge_type = str_field(body, "mergeType", "conflict-free")
    if merge_type != "conflict-free":
        if merge_type in ("type-specific", "external-data"):
            raise CapabilityError(f"mergeType {merge_type!r} is not implemented (nor in DVID)")
        raise InvalidRequest(f"field 'mergeType' must be 'conflict-free', got {merge_type!r}")
    parents = str_list_field(body, "parents")
    note = str_field(body, "note")
    child = await blocking(_merge, ctx, request, parents, note, False)
    return JSONResponse({"child": child.uuid})


async def resolve(request: Request, ctx: ServerContext) -> Response:
    """Merge where the earlier parent wins every conflict (``data`` names instances)."""
    service = ctx.service
    body = await json_body(request)
    names = str_list_field(body, "data")
    parents = str_list_field(body, "parents")
    note = str_field(body, "note")

    def run() -> NodeInfo:
        for name in names:
            service.catalog.instance(_ref(request), name)  # 404 for an unknown instance
        return _merge(ctx, request, parents, note, True)

    child = await blocking(run)
    return JSONResponse({"child": child.uuid})


def repo_routes(bind: Binder) -> list[BaseRoute]:
    """The repo-level routes."""
    base = "/api/repo/{uuid}"
    info = json_api(_object(alias=STRING, description=STRING), answers=())
    settings = {"type": "object", "additionalProperties": {"type": "string"}}
    instance = json_api({**settings, "required": ["typename", "dataname"]}, required=True)
    log = json_api(_object(log=STRINGS), answers=())
    merge_body = _object(mergeType=STRING, parents=STRINGS, note=STRING)
    resolve_body = _object(data=STRINGS, parents=STRINGS, note=STRING)
    return [
        ApiRoute(base, bind(repo_exists), methods=["HEAD"], api=Api(answers=(TEXT,))),
        ApiRoute(f"{base}/info", bind(get_info), methods=["GET"]),
        ApiRoute(f"{base}/info", bind(post_info), methods=["POST"], api=info),
        ApiRoute(f"{base}/instance", bind(create_instance), methods=["POST"], api=instance),
        ApiRoute(f"{base}/log", bind(get_log), methods=["GET"]),
        ApiRoute(f"{base}/log", bind(post_log), methods=["POST"], api=log),
        ApiRoute(f"{base}/branch-versions/{{name}}", bind(branch_versions), methods=["GET"]),
        ApiRoute(f"{base}/merge", bind(merge), methods=["POST"], api=json_api(merge_body)),
        ApiRoute(f"{base}/resolve", bind(resolve), methods=["POST"], api=json_api(resolve_body)),
    ]
