"""DVID's keyvalue HTTP API, single keys and listings (batches: :mod:`.routes_batch`).

``key/{key}`` takes any key but NUL-free UTF-8 of at most 400 bytes, ``/`` included
(percent-decoded). A value shorter than the instance's chunk size is read and written
whole; a bigger one is received a chunk at a time from the request body and sent a
chunk at a time from the store (a ``Range`` reads only the chunks it needs), so a
request holds one chunk of it at most. Differences from DVID: :mod:`.dvid_differences`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute

from voxhub.datatypes.keyvalue import keys as K
from voxhub.datatypes.keyvalue.dvid_info import keyvalue_info_json
from voxhub.datatypes.keyvalue.instance import KeyValueInstance
from voxhub.datatypes.keyvalue.mutlog import Author, range_records
from voxhub.datatypes.keyvalue.opening import open_keyvalue_instance
from voxhub.datatypes.keyvalue.ranges import check_within, parse_inclusive
from voxhub.datatypes.keyvalue.values import Stored
from voxhub.datatypes.wire.api import OCTET, Api, Param
from voxhub.datatypes.wire.bodies import check_size, declared_length
from voxhub.datatypes.wire.byte_ranges import ByteRange, Unsatisfiable, parse_range_header
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import InvalidRequest, NotFound

#: pieces of a streamed answer are gathered up to this size before each send
SEND_BYTES = 1 << 20
#: the header a DELETE answers with: whether the key had a value (DVID answers 200 both ways)
EXISTED_HEADER = "Voxhub-Key-Existed"


def open_keyvalue(ctx: InstanceContext) -> KeyValueInstance:
    """The instance the request addresses, at its node (blocking: reads the catalog);
    its writes are recorded under the caller's ``u=`` and ``app=``."""
    instance = open_keyvalue_instance(ctx.access.catalog, ctx.node_uuid, ctx.instance)
    instance.author = Author(ctx.caller.user, ctx.caller.app)
    return instance


def path_key(request: Request, name: str = "key") -> str:
    """A key from the path, checked (400/413 naming it)."""
    key = str(request.path_params[name])
    K.key_bytes(key)
    return key


def gathered(pieces: Iterator[bytes], target: int = SEND_BYTES) -> Iterator[bytes]:
    """``pieces`` with small neighbours joined (each send, and each thread hop of a
    streamed answer, costs more than a few kilobytes of copying); big ones pass as is."""
    held: list[bytes] = []
    size = 0
    for piece in pieces:
        if len(piece) >= target:
            if held:
                yield b"".join(held)
                held, size = [], 0
            yield piece
            continue
        held.append(piece)
        size += len(piece)
        if size >= target:
            yield b"".join(held)
            held, size = [], 0
    if held:
        yield b"".join(held)


def stream(pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A blocking iterator of answer pieces, run in the thread pool a piece at a time."""
    return iterate_in_threadpool(gathered(pieces))


# -- one key ------------------------------------------------------------------------------
async def get_key(request: Request, ctx: InstanceContext) -> Response:
    """The value of a key, whole or a byte range (Range: 206/416; ?byte_start=&byte_end=).

    octet-stream; ``byte_start``/``byte_end`` are inclusive; HEAD answers 200 (with the
    value's size as Content-Length) or 404."""
    key = path_key(request)

    def look() -> tuple[KeyValueInstance, Stored | None]:
        instance = open_keyvalue(ctx)
        return instance, instance.stat(key)

    instance, stored = await small_read(ctx, look)  # a value below a chunk, or a manifest
    if stored is None:
        if request.method == "HEAD":
            return Response(status_code=404)
        raise NotFound(f"Key {key!r} not found")
    size = stored.size
    headers = {"Accept-Ranges": "bytes"}
    if request.method == "HEAD":
        return Response(headers={**headers, "Content-Length": str(size)}, media_type=OCTET)
    asked = _byte_range(request, key, size)
    if isinstance(asked, Response):
        return asked
    wanted, partial = asked
    status = 200
    if partial:
        status = 206
        headers["Content-Range"] = wanted.content_range(size)
    if stored.manifest is None:
        assert stored.inline is not None
        body = stored.inline[wanted.start : wanted.stop]
        return Response(body, status_code=status, headers=headers, media_type=OCTET)
    headers["Content-Length"] = str(wanted.length)
    pieces = instance.pieces(key, stored, wanted.start, wanted.stop)
    return StreamingResponse(stream(pieces), status, headers, media_type=OCTET)


def _byte_range(request: Request, key: str, size: int) -> tuple[ByteRange, bool] | Response:
    """The part of the value asked for and whether it is a Range answered 206 (DVID's
    ``byte_start``/``byte_end`` are answered 200), or the 416 answer itself."""
    query = request.query_params
    inclusive = parse_inclusive(key, query.get("byte_start"), query.get("byte_end"))
    header = request.headers.get("range")
    if inclusive is not None:
        if header:
            raise InvalidRequest("cannot combine a Range header with byte_start/byte_end")
        check_within(key, inclusive, size)
        return inclusive, False
    try:
        asked = parse_range_header(header, size)
    except Unsatisfiable as e:
        return JSONResponse(
            {"error": str(e), "type": "InvalidRequest"},
            status_code=416,
            headers={"Content-Range": f"bytes */{size}"},
        )
    return (ByteRange(0, size), False) if asked is None else (asked, True)


async def post_key(request: Request, ctx: InstanceContext) -> Response:
    """Set a key's value to the body (streamed into chunks when it is big)."""
    key = path_key(request)
    declared = declared_length(request)
    if declared is not None:
        check_size(declared, ctx.max_request_bytes, f"value of key {key!r}")

    def writable() -> KeyValueInstance:
        instance = open_keyvalue(ctx)
        instance.view.check_writable()  # 409 before the body is read
        return instance

    instance = await small_read(ctx, writable)
    upload = instance.upload(key)
    try:
        async for piece in request.stream():
            upload.append(piece)
            if upload.full:
                await run_in_threadpool(upload.flush)
        await run_in_threadpool(upload.commit)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(upload.abort)
        raise
    return Response()


async def delete_key(request: Request, ctx: InstanceContext) -> Response:
    """Delete a key at the node (200 whether or not it was there, as DVID)."""
    key = path_key(request)
    existed = await run_in_threadpool(lambda: open_keyvalue(ctx).delete(key))
    return Response(headers={EXISTED_HEADER: "true" if existed else "false"})


# -- listings -------------------------------------------------------------------------------
async def get_keys(request: Request, ctx: InstanceContext) -> Response:
    """Every key at the node, sorted (byte order of their UTF-8): ``["k1", ...]``."""
    found = await run_in_threadpool(lambda: open_keyvalue(ctx).keys())
    return JSONResponse(found)


async def get_keyrange(request: Request, ctx: InstanceContext) -> Response:
    """The keys from firstkey to lastkey, both included, sorted."""
    first, last = path_key(request, "firstkey"), path_key(request, "lastkey")
    found = await run_in_threadpool(lambda: open_keyvalue(ctx).keys(first, last))
    return JSONResponse(found)


async def get_mutations(request: Request, ctx: InstanceContext) -> Response:
    """This node's writes (not its ancestors'), oldest first, as DVID logs them.

    ``[{"Action": "postkv"|"delkv", "Key", "Bytes", "UUID", "Timestamp", "User",
    "App"}, ...]``; ``?userid=`` keeps one user's records."""
    user = request.query_params.get("userid")
    return JSONResponse(await run_in_threadpool(lambda: open_keyvalue(ctx).mutations(user)))


async def get_mutations_range(request: Request, ctx: InstanceContext) -> Response:
    """The writes of versions {end} back to {beg}, along first parents ({end}'s first);
    400 if {beg} is not {end} or a first-parent ancestor of it."""
    catalog = ctx.access.catalog
    refs = request.path_params["beg"], request.path_params["end"]

    def run() -> list[dict[str, Any]]:
        here = catalog.node(ctx.node_uuid)
        beg, end = (catalog.node(ref) for ref in refs)
        for node in (beg, end):
            if node.repo != here.repo:
                raise InvalidRequest(f"version {node.uuid} is not in the repo of {here.uuid}")
        name = ctx.instance.name
        return range_records(beg, end, catalog.node, lambda uuid: catalog.view(uuid, name))

    return JSONResponse(await run_in_threadpool(run))


async def get_info(request: Request, ctx: InstanceContext) -> Response:
    """Instance info: Base, and Extended with the chunk size of big values."""
    return JSONResponse(keyvalue_info_json(ctx.instance))


def keyvalue_routes() -> list[BaseRoute]:
    """The keyvalue instance routes, paths relative to the instance."""
    from voxhub.datatypes.keyvalue import routes_batch as batch

    bound = {"type": "integer", "minimum": 0}
    value = Api(
        query=(Param("byte_start", bound), Param("byte_end", bound)),
        answers=(OCTET,),
    )
    return [
        instance_route("/info", get_info, methods=["GET"]),
        instance_route(
            "/mutations",
            get_mutations,
            methods=["GET"],
            api=Api(query=(Param("userid", {"type": "string"}, "only this user's records"),)),
        ),
        instance_route("/mutations-range/{beg}/{end}", get_mutations_range, methods=["GET"]),
        instance_route("/keys", get_keys, methods=["GET"]),
        instance_route("/keyrange/{firstkey}/{lastkey}", get_keyrange, methods=["GET"]),
        *batch.batch_routes(),
        instance_route("/key/{key:path}", get_key, methods=["GET", "HEAD"], api=value),
        instance_route(
            "/key/{key:path}", post_key, methods=["POST"], api=Api(body=(OCTET,), answers=())
        ),
        instance_route("/key/{key:path}", delete_key, methods=["DELETE"], api=Api(answers=())),
    ]
