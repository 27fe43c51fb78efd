"""neuronjson batches and schemas: ``keyvalues``, ``keyrangevalues``, ``json_schema``,
``schema`` and ``schema_batch`` (see :mod:`.routes`).

Batch answers come in DVID's three shapes: JSON ``{"<body>": document}`` (``?json=true``),
a tar of one ``<body>`` file per document (``?tar=true`` / ``?jsontar=true``) or, by
default, the protobuf ``KeyValues`` (:mod:`.kv_proto`). A posted batch is one
transaction: every document is checked first, and one bad document stores none.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.neuronjson.document import Document, check_body, encode
from voxhub.datatypes.neuronjson.keys import SCHEMA_KINDS
from voxhub.datatypes.neuronjson.kv_proto import (
    decode_key_values,
    decode_keys,
    encode_key_values,
)
from voxhub.datatypes.neuronjson.routes import (
    SELECT,
    open_instance,
    range_key,
    selection,
    write_options,
)
from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire.api import JSON, OCTET, STRING, Api, Param, flag_param
from voxhub.datatypes.wire.budget import max_json_bytes
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.flags import flag
from voxhub.datatypes.wire.json_input import parse_json
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import InvalidRequest, NotFound

TAR = "application/tar"


def _output(request: Request) -> str:
    """``json``, ``tar`` or ``protobuf`` (the default), from DVID's query flags."""
    tar = flag(request, "tar") or flag(request, "jsontar")
    if tar and flag(request, "json"):
        raise InvalidRequest("ask for tar or json output, not both")
    return "tar" if tar else "json" if flag(request, "json") else "protobuf"


def _answer(kind: str, keys: Iterable[str], found: dict[int, Document]) -> Response:
    """``keys`` (DVID's string keys) and their documents in the answer format ``kind``;
    a key without a document is left out of JSON and empty in tar and protobuf."""
    if kind == "json":
        return JSONResponse({str(b): d for b, d in found.items()})
    values = [(k, encode(found[int(k)]) if int(k) in found else b"") for k in keys]
    if kind == "protobuf":
        return Response(encode_key_values(values), media_type=OCTET)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for key, value in values:
            info = tarfile.TarInfo(key)
            info.size, info.mode = len(value), 0o755
            tar.addfile(info, io.BytesIO(value))
    return Response(out.getvalue(), media_type=TAR)


def _key_list(value: Any) -> list[int]:
    if not isinstance(value, list):
        raise InvalidRequest(f"keyvalues needs a JSON list of body ids, got {type(value).__name__}")
    return [check_body(v, "keyvalues key") for v in value]


async def get_keyvalues(request: Request, ctx: InstanceContext) -> Response:
    """The documents of the bodies listed in the GET body (?json=true, ?tar=true).

    The body is a JSON list of ids with ``?json=true``, ``?tar=true`` or
    ``?jsontar=true``, else protobuf ``Keys``; the answer is JSON, a tar or protobuf
    ``KeyValues``."""
    kind = _output(request)
    fields, show = selection(request)
    raw = await bodies.read_body(request, max_json_bytes(request), "keyvalues body")
    if kind == "protobuf":
        keys = decode_keys(raw)
        bodies_asked = [check_body(k, "keyvalues key") for k in keys]
    else:
        bodies_asked = _key_list(parse_json(raw, "keyvalues body") if raw.strip() else [])
        keys = [str(b) for b in bodies_asked]
    found = await run_in_threadpool(lambda: open_instance(ctx).get_many(bodies_asked, fields, show))
    return _answer(kind, keys, found)


def _posted(request: Request, raw: bytes) -> dict[int, Any]:
    """``{body: document}`` of a keyvalues POST: JSON ``{"<body>": doc}`` or a list of
    documents with ``bodyid`` (?json=true or a JSON content type), else protobuf
    ``KeyValues`` whose values are JSON documents."""
    as_json = flag(request, "json") or request.headers.get("content-type", "").startswith(JSON)
    if not as_json:
        return {
            check_body(k, "keyvalues key"): parse_json(v, f"the document of key {k!r}")
            for k, v in decode_key_values(raw)
        }
    value = parse_json(raw, "keyvalues body") if raw.strip() else None
    if isinstance(value, dict):
        return {check_body(k, "keyvalues key"): doc for k, doc in value.items()}
    if isinstance(value, list):
        out = {}
        for i, doc in enumerate(value):
            if not isinstance(doc, dict) or "bodyid" not in doc:
                raise InvalidRequest(f"keyvalues document {i} is not an object with a bodyid")
            out[check_body(doc["bodyid"], f"bodyid of document {i}")] = doc
        return out
    raise InvalidRequest("keyvalues needs {body: document, ...} or a list of documents")


async def post_keyvalues(request: Request, ctx: InstanceContext) -> Response:
    """Write several documents in one transaction, each as POST key would; all or none.

    ``?replace=`` and ``?conditional=`` as for POST key; a user is needed."""
    replace, conditional = write_options(request)
    raw = await bodies.read_body(request, max_json_bytes(request), "keyvalues body")
    user = ctx.caller.user

    def run() -> None:
        docs = _posted(request, raw)
        open_instance(ctx).put_many(docs, user=user, replace=replace, conditional=conditional)

    await run_in_threadpool(run)
    return Response(b"")


async def get_keyrangevalues(request: Request, ctx: InstanceContext) -> Response:
    """The documents of the bodies between two ids (inclusive), ascending.

    ``?json=true``, ``?tar=true``, else protobuf ``KeyValues``; ``?fields=``, ``?show=``."""
    kind = _output(request)
    fields, show = selection(request)
    first = range_key(request.path_params["first"], "first key")
    last = range_key(request.path_params["last"], "last key")
    found = await run_in_threadpool(lambda: open_instance(ctx).values_in(first, last, fields, show))
    return _answer(kind, [str(b) for b in found], found)


# -- schemas ------------------------------------------------------------------------------
def _kind(request: Request) -> str:
    return request.url.path.rstrip("/").rsplit("/", 1)[-1]


async def get_schema(request: Request, ctx: InstanceContext) -> Response:
    """A stored schema document as posted; 404 if none. HEAD: 200/404."""
    kind = _kind(request)
    raw = await small_read(ctx, lambda: open_instance(ctx).schema(kind))
    if request.method == "HEAD":
        return Response(status_code=200 if raw is not None else 404)
    if raw is None:
        raise NotFound(f"no {kind} stored in {ctx.instance.name!r} at this version")
    return Response(raw, media_type=JSON)


async def post_schema(request: Request, ctx: InstanceContext) -> Response:
    """Store a schema document (JSON; stored and served, not enforced)."""
    kind = _kind(request)
    raw = await bodies.read_body(request, max_json_bytes(request), f"{kind} body")
    await run_in_threadpool(lambda: open_instance(ctx).set_schema(kind, raw))
    return Response(b"")


async def delete_schema(request: Request, ctx: InstanceContext) -> Response:
    """Delete a schema document (200 whether or not one was stored)."""
    kind = _kind(request)
    await run_in_threadpool(lambda: open_instance(ctx).delete_schema(kind))
    return Response(b"")


def batch_routes() -> list[BaseRoute]:
    out_flags = (
        flag_param("json", "JSON {body: document} instead of protobuf KeyValues"),
        flag_param("tar", "a tar of one file per body"),
        flag_param("jsontar", "as tar"),
    )
    read = Api(query=(*out_flags, *SELECT), answers=(JSON, "application/tar", OCTET))
    listed = Api(
        query=read.query,
        body=(JSON, OCTET),
        body_schema={"type": "array", "items": {"type": ["integer", "string"]}},
        body_required=True,
        answers=read.answers,
    )
    write = Api(
        query=(out_flags[0], flag_param("replace"), Param("conditional", STRING)),
        body=(JSON, OCTET),
        body_schema={"type": ["object", "array"]},
        body_required=True,
        answers=(),
    )
    return [
        instance_route("/keyvalues", get_keyvalues, methods=["GET"], api=listed),
        instance_route("/keyvalues", post_keyvalues, methods=["POST"], api=write),
        instance_route(
            "/keyrangevalues/{first}/{last}", get_keyrangevalues, methods=["GET"], api=read
        ),
    ]


def schema_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    body = Api(body=(JSON,), body_schema={"type": "object"}, body_required=True, answers=())
    for kind in SCHEMA_KINDS:
        routes += [
            instance_route(f"/{kind}", get_schema, methods=["GET", "HEAD"]),
            instance_route(f"/{kind}", post_schema, methods=["POST"], api=body),
            instance_route(f"/{kind}", delete_schema, methods=["DELETE"], api=Api(answers=())),
        ]
    return routes
