"""DVID's ``POST /api/node/{uuid}/{name}/sync``, served for every datatype that can follow
other instances (its registry entry lists ``sync_targets``).

The body is DVID's ``{"sync": "name1,name2"}``: the names are added to what the instance
follows, or with ``?replace=true`` become all of it (an empty string then removes every
sync). Syncs are instance-wide, as in DVID; the follower's derived data is rebuilt at the
node of the request (:mod:`voxhub.datatypes.sync_config`). ``Base.Syncs`` of ``info``
lists them. The caller's ``u=``/``app=`` line goes to the repo log.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.datatypes.sync_config import parse_sync_names, set_syncs
from voxhub.datatypes.wire.api import JSON, Api, Param
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.json_body import read_json
from voxhub.errors import InvalidRequest
from voxhub.server.http import stamp

_SYNC_BODY = {
    "type": "object",
    "properties": {"sync": {"type": "string", "maxLength": 4096}},
    "required": ["sync"],
}


def _names(value: Any) -> list[str]:
    if not isinstance(value, dict) or "sync" not in value:
        raise InvalidRequest('sync body must be a JSON object {"sync": "name1,name2"}')
    return parse_sync_names(value["sync"], "sync")


async def post_sync(request: Request, ctx: InstanceContext) -> Response:
    """Follow the posted instances too (``?replace=true``: only them)."""
    text = request.query_params.get("replace", "false").lower()
    if text not in ("true", "false"):
        raise InvalidRequest(f"query parameter replace={text!r} must be true or false")
    names = await read_json(request, "sync body", _names)
    info = ctx.instance

    def run() -> None:
        new = set_syncs(ctx.access, ctx.node_uuid, info, names, replace=text == "true")
        what = f"set syncs of instance {info.name} to {','.join(new.config.get('sync', []))}"
        ctx.access.catalog.append_repo_log(info.repo, [stamp(ctx.caller, what)])

    await run_in_threadpool(run)
    return Response(b"")


def sync_routes() -> list[BaseRoute]:
    """The ``POST sync`` route of a datatype whose instances follow others."""
    replace = Param("replace", {"enum": ["true", "false"]}, "the names replace the old syncs")
    posted = Api(
        query=(replace,), body=(JSON,), body_schema=_SYNC_BODY, body_required=True, answers=()
    )
    return [instance_route("/sync", post_sync, methods=["POST"], api=posted)]
