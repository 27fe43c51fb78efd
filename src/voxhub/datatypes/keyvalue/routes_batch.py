"""DVID's keyvalue batches: ``keyrangevalues``, ``GET keyvalues`` and ``POST keyvalues``.

Answers come as DVID's protobuf ``KeyValues`` (the default), a tar archive (``tar=true``
or ``jsontar=true``) or JSON (``json=true``: ``{"key": value, ...}``, values being JSON
themselves). Protobuf and tar answers are streamed a chunk at a time; everything that
can fail (keys, ranges) is checked before the first byte, so an error is a status, not
a cut answer (DVID checks as it streams). JSON answers are assembled first, every value
checked as JSON (DVID only with ``check=true``), within the request limit (413).

``POST keyvalues`` stores a protobuf ``KeyValues`` body or a tar archive (``tar=true``,
or ``Content-Type: application/x-tar``) in one transaction: a bad key or a malformed
body stores nothing (DVID stores key by key and stops at the first error).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute

from voxhub.datatypes.keyvalue import keys as K
from voxhub.datatypes.keyvalue import tar_format
from voxhub.datatypes.keyvalue.instance import KeyValueInstance
from voxhub.datatypes.keyvalue.ranges import check_within, parse_inclusive
from voxhub.datatypes.keyvalue.routes import open_keyvalue, path_key, stream
from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire.api import JSON, OCTET, Api, flag_param
from voxhub.datatypes.wire.budget import admit, max_json_bytes
from voxhub.datatypes.wire.byte_ranges import ByteRange
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.flags import flag
from voxhub.datatypes.wire.json_body import read_json
from voxhub.datatypes.wire.json_input import parse_json
from voxhub.errors import InvalidRequest

TAR = "application/tar"
_TAR_TYPES = ("application/x-tar", "application/tar")
#: one requested value: its key and the part of it (``None``: all)
Wanted = tuple[str, ByteRange | None]
#: one answered value: key, size, its bytes a piece at a time
Entry = tuple[str, int, Iterator[bytes]]


def output_of(request: Request) -> str:
    """``json``, ``tar`` or ``protobuf``, from DVID's flags (only one may be set)."""
    tar = flag(request, "tar") or flag(request, "jsontar")
    as_json = flag(request, "json")
    flag(request, "protobuf")
    flag(request, "check")  # accepted: JSON values are always checked here
    if tar and as_json:
        raise InvalidRequest("can only specify tar or json output, not both")
    return "tar" if tar else "json" if as_json else "protobuf"


def entries(instance: KeyValueInstance, wanted: list[Wanted], *, listed: bool) -> Iterator[Entry]:
    """The answer's values in request order; a missing key is an empty value, or left out
    when the keys were ``listed`` from the store (deleted since)."""
    for key, part in wanted:
        stored = instance.stat(key)
        if stored is None:
            if not listed:
                yield key, 0, iter(())
            continue
        span = part if part is not None else ByteRange(0, stored.size)
        stop = min(span.stop, stored.size)  # checked before streaming; a value may shrink
        start = min(span.start, stop)
        yield key, stop - start, instance.pieces(key, stored, start, stop)


def answer(request: Request, ctx: InstanceContext, output: str, wanted: list[Wanted],
           *, listed: bool) -> Response:  # fmt: skip
    """The streamed tar or protobuf answer of ``wanted`` (JSON: :func:`json_answer`)."""
    instance = open_keyvalue(ctx)
    found = entries(instance, wanted, listed=listed)
    if output == "tar":
        return StreamingResponse(stream(tar_format.archive(found)), media_type=TAR)
    from voxhub.datatypes.keyvalue import proto_format

    return StreamingResponse(stream(proto_format.stream(found)), media_type=OCTET)


def json_answer(request: Request, ctx: InstanceContext, wanted: list[Wanted],
                *, listed: bool) -> bytes:  # fmt: skip
    """``{"key": value, ...}``: every value checked as JSON (400 naming the key), the
    whole within the request limit (413); missing keys are ``{}`` (DVID)."""
    parts: list[bytes] = []
    total = 0
    for key, size, pieces in entries(open_keyvalue(ctx), wanted, listed=listed):
        total += size
        bodies.check_size(total, ctx.max_request_bytes, "JSON answer")
        admit(request, total, "JSON answer")
        value = b"".join(pieces) or b"{}"
        parse_json(value, f"value of key {key!r} (asked for as JSON)")
        parts.append(json_key(key) + b":" + value)
    return b"{" + b",".join(parts) + b"}"


def json_key(key: str) -> bytes:
    from json import dumps

    return dumps(key, ensure_ascii=False).encode("utf-8")


async def reply(request: Request, ctx: InstanceContext, output: str, wanted: list[Wanted],
                *, listed: bool) -> Response:  # fmt: skip
    if output == "json":
        body = await run_in_threadpool(json_answer, request, ctx, wanted, listed=listed)
        return Response(body, media_type=JSON)
    return await run_in_threadpool(answer, request, ctx, output, wanted, listed=listed)


# -- routes -------------------------------------------------------------------------------------
async def get_keyrangevalues(request: Request, ctx: InstanceContext) -> Response:
    """The values of the keys from firstkey to lastkey, both included (protobuf KeyValues).

    ?tar=true (or jsontar=true): a tar archive; ?json=true: a JSON object."""
    output = output_of(request)
    first, last = path_key(request, "firstkey"), path_key(request, "lastkey")
    found = await run_in_threadpool(lambda: open_keyvalue(ctx).keys(first, last))
    return await reply(request, ctx, output, [(k, None) for k in found], listed=True)


async def get_keyvalues(request: Request, ctx: InstanceContext) -> Response:
    """The values of the keys the GET body lists (protobuf Keys in, KeyValues out).

    With ?json=true or ?tar=true the body is a JSON list of keys, or of
    ``{"key", "byte_start", "byte_end"}``."""
    output = output_of(request)
    if output == "protobuf":
        from voxhub.datatypes.keyvalue import proto_format

        raw = await bodies.read_body(request, max_json_bytes(request), "Keys body")
        wanted = proto_format.decode_keys(raw)
    else:
        wanted = await read_json(request, "keyvalues key list", _json_wanted)
    for key, _ in wanted:
        K.key_bytes(key)
    ranged = [(k, r) for k, r in wanted if r is not None]
    if ranged:
        await run_in_threadpool(_check_ranges, open_keyvalue(ctx), ranged)
    return await reply(request, ctx, output, wanted, listed=False)


def _json_wanted(body: Any) -> list[Wanted]:
    if not isinstance(body, list):
        raise InvalidRequest("keyvalues GET body must be a JSON list of keys")
    out: list[Wanted] = []
    for item in body:
        if isinstance(item, str):
            out.append((item, None))
        elif isinstance(item, dict) and isinstance(item.get("key"), str):
            key = item["key"]
            out.append((key, parse_inclusive(key, item.get("byte_start"), item.get("byte_end"))))
        else:
            raise InvalidRequest(
                f'keyvalues GET body item {item!r} is neither a key nor {{"key": ...}}'
            )
    return out


def _check_ranges(instance: KeyValueInstance, ranged: list[tuple[str, ByteRange]]) -> None:
    for key, part in ranged:
        size = instance.size(key)
        if size is not None:
            check_within(key, part, size)


async def post_keyvalues(request: Request, ctx: InstanceContext) -> Response:
    """Store many values in one transaction (a protobuf KeyValues, or a tar with ?tar=true).

    A tar archive (also recognised by Content-Type application/x-tar) has one file per
    key."""
    is_tar = flag(request, "tar") or flag(request, "jsontar")
    is_tar = is_tar or request.headers.get("content-type", "").split(";")[0] in _TAR_TYPES
    declared = bodies.declared_length(request)
    if declared is not None:
        bodies.check_size(declared, ctx.max_request_bytes, "keyvalues body")
    raw = await bodies.read_body(request, ctx.max_request_bytes, "keyvalues body")
    admit(request, len(raw), "keyvalues body")

    def run() -> int:
        if is_tar:
            pairs: list[tuple[str, Any]] = list(tar_format.read_archive(raw, "keyvalues tar body"))
        else:
            from voxhub.datatypes.keyvalue import proto_format

            pairs = list(proto_format.decode_key_values(raw))
        return open_keyvalue(ctx).put_many(pairs)

    await run_in_threadpool(run)
    return Response()


def batch_routes() -> list[BaseRoute]:
    out = (
        flag_param("json", "a JSON object of JSON values"),
        flag_param("tar", "a tar archive, one file per key"),
        flag_param("jsontar", "the same as tar"),
        flag_param("protobuf", "protobuf KeyValues (the default)"),
        flag_param("check", "accepted; JSON values are always checked"),
    )
    answers = (OCTET, TAR, JSON)
    ingest = Api(
        query=(flag_param("tar", "the body is a tar archive"),),
        body=(OCTET, *_TAR_TYPES),
        body_required=True,
        answers=(),
    )
    return [
        instance_route(
            "/keyrangevalues/{firstkey}/{lastkey}",
            get_keyrangevalues,
            methods=["GET"],
            api=Api(query=out, answers=answers),
        ),
        instance_route(
            "/keyvalues",
            get_keyvalues,
            methods=["GET"],
            api=Api(query=out, body=(OCTET, JSON), answers=answers),
        ),
        instance_route("/keyvalues", post_keyvalues, methods=["POST"], api=ingest),
    ]
