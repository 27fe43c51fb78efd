"""DVID's instance tags: ``GET`` and ``POST /api/node/{uuid}/{name}/tags`` on every datatype.

Tags are instance-wide metadata (``{"tag": "value"}`` strings), not versioned, as in DVID:
any node of the repo reads and sets the same tags, committed ones included. ``GET``
answers ``{"Tags": {...}}`` (DVID's shape), ``POST`` adds the posted tags or, with
``?replace=true``, makes them the instance's tags (an empty object then deletes all). The
change is one catalog transaction; the caller's ``u=``/``app=`` line goes to the repo log,
as for a new instance. ``Base.Tags`` of ``info`` and ``/api/repos/info`` show them.
"""

from __future__ import annotations

import reprlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.wire.api import JSON, Api, Param
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.json_body import read_json
from voxhub.errors import InvalidRequest
from voxhub.server.http import stamp

_TAGS_BODY = {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 1000}


def _tags(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidRequest('tags body must be a JSON object {"tag": "value", ...}')
    for key, text in value.items():
        if not isinstance(text, str):
            raise InvalidRequest(f"tag {reprlib.repr(key)}: value must be a string")
    return dict(value)


async def get_tags(request: Request, ctx: InstanceContext) -> Response:
    """The instance's tags as ``{"Tags": {"tag": "value", ...}}`` (instance-wide)."""
    return JSONResponse({"Tags": dict(ctx.instance.tags)})


async def post_tags(request: Request, ctx: InstanceContext) -> Response:
    """Add the tags ``{"tag": "value", ...}``; ``?replace=true`` makes them the only ones."""
    text = request.query_params.get("replace", "false").lower()
    if text not in ("true", "false"):
        raise InvalidRequest(f"query parameter replace={text!r} must be true or false")
    tags = await read_json(request, "tags body", _tags)
    info = ctx.instance

    def run() -> None:
        catalog = ctx.access.catalog
        catalog.update_instance_tags(info.repo, info.name, tags, replace=text == "true")
        what = f"{'replaced' if text == 'true' else 'set'} tags of instance {info.name}"
        catalog.append_repo_log(info.repo, [stamp(ctx.caller, what)])

    await run_in_threadpool(run)
    return Response(b"")


def tag_routes() -> list[BaseRoute]:
    """The tag routes every datatype with routes serves."""
    replace = Param("replace", {"enum": ["true", "false"]}, "the tags replace the old ones")
    posted = Api(
        query=(replace,), body=(JSON,), body_schema=_TAGS_BODY, body_required=True, answers=()
    )
    return [
        instance_route("/tags", get_tags, methods=["GET"]),
        instance_route("/tags", post_tags, methods=["POST"], api=posted),
    ]
