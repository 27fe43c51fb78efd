"""HTTP routes of neuronjson instances (DVID's ``neuronjson``), relative to the instance.

Handlers receive the typed :class:`~voxhub.datatypes.wire.context.InstanceContext` and
work on a :class:`~.instance.NeuronJsonInstance` at its node. This module holds the
request helpers, the single-body and listing routes and the route table; batches
(``keyvalues``, ``keyrangevalues``) and schemas are in :mod:`.routes_batch`. What differs
from DVID is listed in :mod:`.dvid_differences` (``/api/help/neuronjson``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.neuronjson.document import parse_body, parse_fields, parse_show
from voxhub.datatypes.neuronjson.dvid_info import neuronjson_info_json
from voxhub.datatypes.neuronjson.instance import NeuronJsonInstance, Show
from voxhub.datatypes.neuronjson.keys import UINT64_MAX
from voxhub.datatypes.wire.api import JSON, STRING, Api, Param, flag_param
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.flags import flag
from voxhub.datatypes.wire.gzipped import gzip_fast
from voxhub.datatypes.wire.json_body import read_json
from voxhub.datatypes.wire.numbers import parse_uint64
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import InvalidRequest

FIELDS = Param("fields", STRING, "only these fields (comma-separated); bodyid is always shown")
SHOW = Param("show", {"enum": ["user", "time", "all"]}, "also show *_user / *_time stamps")
SELECT = (FIELDS, SHOW)


# -- request helpers -------------------------------------------------------------------
def open_instance(ctx: InstanceContext) -> NeuronJsonInstance:
    """The instance a request addresses, at its node (blocking: reads the catalog)."""
    view = ctx.access.catalog.view(ctx.node_uuid, ctx.instance.name)
    return NeuronJsonInstance(view, ctx.instance.name)


def selection(request: Request) -> tuple[list[str] | None, Show]:
    """``?fields=`` and ``?show=``."""
    q = request.query_params
    return parse_fields(q.get("fields")), parse_show(q.get("show"))


def range_key(text: str, what: str) -> int:
    """A ``keyrange`` bound as DVID reads it: a decimal body id, or any text starting
    above ``9`` (``a``, ``z``...: the last id) or below ``0`` (the first)."""
    if text[:1] > "9":
        return UINT64_MAX
    if text[:1] < "0":
        return 0
    return parse_uint64(text, what)


def write_options(request: Request) -> tuple[bool, list[str]]:
    """``?replace=`` and ``?conditional=a,b`` (DVID's legacy ``conditionals`` too)."""
    q = request.query_params
    listed = q.get("conditional") or q.get("conditionals") or ""
    return flag(request, "replace"), [f for f in listed.split(",") if f]


async def json_value(request: Request, what: str) -> Any:
    """The JSON body (required), within the JSON size limit."""

    def present(value: Any) -> Any:
        if value is None:
            raise InvalidRequest(f"{what} needs a JSON body")
        return value

    return await read_json(request, f"{what} body", present)


def json_text(value: Any) -> Response:
    return JSONResponse(value)


# -- info, one body ----------------------------------------------------------------------
async def get_info(request: Request, ctx: InstanceContext) -> Response:
    """Instance info: Base and an empty Extended, as DVID."""
    return JSONResponse(neuronjson_info_json(ctx.access, ctx.node_uuid, ctx.instance))


async def get_key(request: Request, ctx: InstanceContext) -> Response:
    """A body's document (?fields=, ?show=user|time|all); 404 if none. HEAD: 200/404."""
    body = parse_body(request.path_params["label"])
    if request.method == "HEAD":
        found = await small_read(ctx, lambda: open_instance(ctx).exists(body))
        return Response(status_code=200 if found else 404)
    fields, show = selection(request)
    return json_text(await small_read(ctx, lambda: open_instance(ctx).get(body, fields, show)))


async def post_key(request: Request, ctx: InstanceContext) -> Response:
    """Merge the posted fields into a body's document; ?replace=true, ?conditional=, ?u=.

    ``?replace=true`` makes the posted fields the document (unchanged fields keep their
    stamps); ``?conditional=a,b`` keeps those fields' stored values; a user is needed."""
    body = parse_body(request.path_params["label"])
    replace, conditional = write_options(request)
    doc = await json_value(request, f"key/{body}")
    user = ctx.caller.user

    def run() -> None:
        open_instance(ctx).put(body, doc, user=user, replace=replace, conditional=conditional)

    await run_in_threadpool(run)
    return Response(b"")


async def delete_key(request: Request, ctx: InstanceContext) -> Response:
    """Delete a body's document (200 whether or not it had one, as DVID)."""
    body = parse_body(request.path_params["label"])
    await run_in_threadpool(lambda: open_instance(ctx).delete(body))
    return Response(b"")


# -- listings ---------------------------------------------------------------------------
async def get_keys(request: Request, ctx: InstanceContext) -> Response:
    """Every body with a document, as DVID's string keys, ascending by id."""
    keys = await run_in_threadpool(lambda: open_instance(ctx).keys())
    return json_text([str(k) for k in keys])


async def get_keyrange(request: Request, ctx: InstanceContext) -> Response:
    """Bodies with a document between two ids (inclusive), as string keys, ascending.

    As in DVID, a bound starting above ``9`` (``a``) means the last id, below ``0`` the
    first."""
    first = range_key(request.path_params["first"], "first key")
    last = range_key(request.path_params["last"], "last key")
    keys = await run_in_threadpool(lambda: open_instance(ctx).keys(first, last))
    return json_text([str(k) for k in keys])


async def get_all(request: Request, ctx: InstanceContext) -> Response:
    """Every document, ascending by body (?fields=, ?show=); gzip'd if the client accepts.

    As DVID, the answer is gzip'd when ``Accept-Encoding`` names gzip (a whole instance's
    documents compress several times over)."""
    fields, show = selection(request)
    gzipped = "gzip" in request.headers.get("accept-encoding", "").lower()

    def run() -> bytes:
        text = json.dumps(
            open_instance(ctx).all(fields, show), separators=(",", ":"), ensure_ascii=False
        )
        return gzip_fast(text.encode()) if gzipped else text.encode()

    body = await run_in_threadpool(run)
    headers = {"Vary": "Accept-Encoding"} | ({"Content-Encoding": "gzip"} if gzipped else {})
    return Response(body, media_type=JSON, headers=headers)


async def get_fields(request: Request, ctx: InstanceContext) -> Response:
    """The field names used by documents (?counts=true: {field: documents holding it})."""
    counts = await run_in_threadpool(lambda: open_instance(ctx).fields())
    return json_text(counts if flag(request, "counts") else list(counts))


async def get_fieldtimes(request: Request, ctx: InstanceContext) -> Response:
    """{field: latest RFC 3339 _time stamp of that field over every document}."""
    return json_text(await run_in_threadpool(lambda: open_instance(ctx).field_times()))


async def query(request: Request, ctx: InstanceContext) -> Response:
    """The documents matching a JSON query, ascending (?onlyid=true: their ids only).

    Allowed on committed nodes (it writes nothing). Conditions: a value, a list (any
    of), ``"re/<regex>"``, ``"exists/0|1"``, ``"range/<lo>/<hi>"`` (see
    :mod:`voxhub.datatypes.neuronjson.query`)."""
    fields, show = selection(request)
    onlyid = flag(request, "onlyid")
    value = await json_value(request, "query")

    def run() -> list[Any]:
        inst = open_instance(ctx)
        return list(inst.query_ids(value)) if onlyid else list(inst.query(value, fields, show))

    return json_text(await run_in_threadpool(run))


def neuronjson_routes() -> list[BaseRoute]:
    """The routes of one neuronjson instance, relative to ``/api/node/{uuid}/{name}``."""
    from voxhub.datatypes.neuronjson import routes_batch as batch

    get, post, head = ["GET"], ["POST"], ["GET", "HEAD"]
    selected = Api(query=SELECT)
    write_query: Sequence[Param] = (
        flag_param("replace", "replace the document instead of merging fields into it"),
        Param("conditional", STRING, "fields (comma-separated) that keep their stored values"),
    )
    doc_in = Api(
        query=write_query,
        body=(JSON,),
        body_schema={"type": "object"},
        body_required=True,
        answers=(),
    )
    query_api = Api(
        query=(*SELECT, flag_param("onlyid", "answer the matching body ids only")),
        body=(JSON,),
        body_schema={"type": ["object", "array"]},
        body_required=True,
    )
    return [
        instance_route("/info", get_info, methods=get),
        instance_route("/key/{label}", get_key, methods=head, api=selected),
        instance_route("/key/{label}", post_key, methods=post, api=doc_in),
        instance_route("/key/{label}", delete_key, methods=["DELETE"], api=Api(answers=())),
        instance_route("/keys", get_keys, methods=get),
        instance_route("/keyrange/{first}/{last}", get_keyrange, methods=get),
        *batch.batch_routes(),
        instance_route("/all", get_all, methods=get, api=selected),
        instance_route("/fields", get_fields, methods=get, api=Api(query=(flag_param("counts"),))),
        instance_route("/fieldtimes", get_fieldtimes, methods=get),
        instance_route("/query", query, methods=["GET", "POST"], api=query_api),
        *batch.schema_routes(),
    ]
