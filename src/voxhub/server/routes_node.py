"""Node-level routes: ``/api/node/{uuid}/{note,log,status,commit,newversion,branch,tag}``.

``{uuid}`` is a UUID, a unique prefix, ``uuid:branch`` or ``:branch~N``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.wire.api import NAME_PATTERN, STRING, STRINGS, TEXT, Api, ApiRoute, json_api
from voxhub.datatypes.wire.api import object_schema as _object
from voxhub.errors import InvalidRequest
from voxhub.server.context import Binder, ServerContext
from voxhub.server.http import (
    blocking,
    json_body,
    node_ref,
    optional_uuid,
    stamp,
    str_field,
    str_list_field,
)
from voxhub.versioning.catalog import NodeInfo

TAG_BRANCH_PREFIX = "tag-"


def _ref(request: Request) -> str:
    return node_ref(request.path_params["uuid"])


async def get_note(request: Request, ctx: ServerContext) -> Response:
    """``{"note": ...}``."""
    node = await blocking(ctx.service.catalog.node, _ref(request))
    return JSONResponse({"note": node.note})


async def post_note(request: Request, ctx: ServerContext) -> Response:
    """Replace the note of an open node (409 if committed)."""
    note = str_field(await json_body(request), "note")
    await blocking(ctx.service.catalog.set_note, _ref(request), note)
    return Response(status_code=200)


async def get_log(request: Request, ctx: ServerContext) -> Response:
    """``{"log": [...]}``."""
    lines = await blocking(ctx.service.catalog.node_log, _ref(request))
    return JSONResponse({"log": lines})


async def post_log(request: Request, ctx: ServerContext) -> Response:
    """Append lines to an open node's log, each stamped with time, user and app."""
    lines = str_list_field(await json_body(request), "log")
    stamped = [stamp(ctx.caller, line) for line in lines]
    await blocking(ctx.service.catalog.append_node_log, _ref(request), stamped)
    return Response(status_code=200)


async def status(request: Request, ctx: ServerContext) -> Response:
    """``{"Locked": bool}`` (also the deprecated ``GET .../commit``)."""
    node = await blocking(ctx.service.catalog.node, _ref(request))
    return JSONResponse({"Locked": node.locked})


async def commit(request: Request, ctx: ServerContext) -> Response:
    """Lock the node for good: ``{"note", "log"}`` → ``{"committed": uuid}``."""
    body = await json_body(request)
    note = str_field(body, "note") if "note" in body else None
    lines = [stamp(ctx.caller, line) for line in str_list_field(body, "log")]
    if not lines:
        lines = [stamp(ctx.caller, "commit")]
    node = await blocking(ctx.service.catalog.commit, _ref(request), note=note, log=lines)
    return JSONResponse({"committed": node.uuid})


async def newversion(request: Request, ctx: ServerContext) -> Response:
    """A new open child on the parent's branch: ``{"note", "uuid"}`` → ``{"child"}``."""
    body = await json_body(request)
    service = ctx.service

    def run() -> NodeInfo:
        parent = service.catalog.node(_ref(request))
        child = service.catalog.newversion(
            parent.uuid, note=str_field(body, "note"), uuid=optional_uuid(body)
        )
        service.catalog.append_node_log(
            child.uuid, [stamp(ctx.caller, f"newversion of {parent.uuid}")]
        )
        return child

    return JSONResponse({"child": (await blocking(run)).uuid})


async def branch(request: Request, ctx: ServerContext) -> Response:
    """A new open child on a new branch: ``{"branch", "note", "uuid"}`` → ``{"child"}``."""
    body = await json_body(request)
    name = str_field(body, "branch")
    if not name:
        raise InvalidRequest("field 'branch' is required: the name of the new branch")
    service = ctx.service

    def run() -> NodeInfo:
        parent = service.catalog.node(_ref(request))
        child = service.catalog.branch(
            parent.uuid, name, note=str_field(body, "note"), uuid=optional_uuid(body)
        )
        line = stamp(ctx.caller, f"branch {name!r} from {parent.uuid}")
        service.catalog.append_node_log(child.uuid, [line])
        return child

    return JSONResponse({"child": (await blocking(run)).uuid})


async def tag(request: Request, ctx: ServerContext) -> Response:
    """``{"tag", "note"}`` → a committed child on branch ``tag-<tag>``.

    DVID names the child by the tag itself; our UUIDs are 32 hex digits, so the tag lives
    in the branch name (``:tag-<tag>`` resolves to it) and the note.
    """
    body = await json_body(request)
    name = str_field(body, "tag")
    if not name:
        raise InvalidRequest("field 'tag' is required: the name of the tag")
    note = str_field(body, "note")
    service = ctx.service

    def run() -> NodeInfo:
        parent = service.catalog.node(_ref(request))
        text = f"tag {name}" + (f": {note}" if note else "")
        child = service.catalog.branch(parent.uuid, f"{TAG_BRANCH_PREFIX}{name}", note=text)
        line = stamp(ctx.caller, f"tag {name!r} of {parent.uuid}")
        return service.catalog.commit(child.uuid, log=[line])

    child = await blocking(run)
    return JSONResponse({"child": child.uuid, "tag": name, "branch": child.branch})


def node_routes(bind: Binder) -> list[BaseRoute]:
    """The node-level routes."""
    base = "/api/node/{uuid}"
    text = Api(answers=(TEXT,))
    note = json_api(_object(note=STRING), answers=())
    log = json_api(_object(log=STRINGS), answers=())
    commit_body = json_api(_object(note=STRING, log=STRINGS))
    child = json_api(_object(note=STRING, uuid=STRING))
    named = {"type": "string", "pattern": NAME_PATTERN}
    branch_body = json_api(_object(branch=named, note=STRING, uuid=STRING), required=True)
    tag_body = json_api(_object(tag=named, note=STRING), required=True)
    return [
        ApiRoute(f"{base}/note", bind(get_note), methods=["GET"], api=text),
        ApiRoute(f"{base}/note", bind(post_note), methods=["POST"], api=note),
        ApiRoute(f"{base}/log", bind(get_log), methods=["GET"]),
        ApiRoute(f"{base}/log", bind(post_log), methods=["POST"], api=log),
        ApiRoute(f"{base}/status", bind(status), methods=["GET"]),
        ApiRoute(f"{base}/commit", bind(status), methods=["GET"]),
        ApiRoute(f"{base}/commit", bind(commit), methods=["POST"], api=commit_body),
        ApiRoute(f"{base}/newversion", bind(newversion), methods=["POST"], api=child),
        ApiRoute(f"{base}/branch", bind(branch), methods=["POST"], api=branch_body),
        ApiRoute(f"{base}/tag", bind(tag), methods=["POST"], api=tag_body),
    ]
