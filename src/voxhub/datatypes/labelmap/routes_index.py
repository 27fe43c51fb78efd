"""labelmap label index and bulk ingest routes, in DVID's wire format (see :mod:`.routes`).

* ``GET index/{label}``: DVID's ``LabelIndex`` protobuf; ``?mutid=N`` as it stood just
  before mutation N (:mod:`.index_history`; 404 if the body had none then);
  ``?metadata-only=true`` DVID's ``{"num_voxels", "last_mutid", ...}``; ``?format=json``
  voxhub's JSON (:mod:`.index_json`). ``GET indices`` with a JSON list of labels:
  ``LabelIndices`` (a label without an index comes back with no blocks, as in DVID).
* ``POST index/{label}``, ``POST indices``: store indexes as given (one with no blocks
  deletes the body's), all or none (:mod:`.ingest`); ``?format=json`` takes the JSON form.
* ``GET index-version/{label}``: the UUID of the node that stored the visible index.
* ``POST mappings`` (``MappingOps``) and ``POST ingest-supervoxels`` (a block stream of
  gzipped native blocks at ``?scale=``): see :mod:`.ingest` for what each one keeps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.labelmap import dvid_proto
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.index_json import index_from_json, index_to_json
from voxhub.datatypes.labelmap.keys import index_key
from voxhub.datatypes.labelmap.native_block import decode_native
from voxhub.datatypes.labelmap.routes import (
    OCTET,
    config_of,
    id_list,
    json_request,
    open_labels,
    path_label,
    scale_of,
)
from voxhub.datatypes.labelmap.routes_voxels import _gunzip
from voxhub.datatypes.wire import block_stream, bodies
from voxhub.datatypes.wire.api import JSON, SCALE, TEXT, UINT64, Api, Param, flag_param
from voxhub.datatypes.wire.budget import admit
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.flags import flag
from voxhub.datatypes.wire.json_input import parse_json
from voxhub.datatypes.wire.numbers import parse_uint64
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import InvalidRequest, NotFound
from voxhub.geometry import Vec3
from voxhub.versioning.keys import tkey_range, version_of

#: labels one ``GET indices`` may ask for (DVID's limit)
MAX_INDICES = 50_000
_FORMATS = ("", "protobuf", "json")


def _json_format(request: Request) -> bool:
    fmt = request.query_params.get("format", "").lower()
    if fmt not in _FORMATS:
        raise InvalidRequest(f"format {fmt!r} is not one of protobuf, json")
    return fmt == "json"


# -- reads -----------------------------------------------------------------------------------
async def get_index(request: Request, ctx: InstanceContext) -> Response:
    """A body's label index as DVID's ``LabelIndex`` protobuf; 404 if it has no voxels.

    ?mutid=N: as it stood just before mutation N (404 if the body had no index then);
    ?metadata-only=true: ``{"num_voxels", "last_mutid", "last_mod_time", "last_mod_user",
    "last_mod_app"}``; ?format=json: ``{"label", "blocks": {"x,y,z": {"sv": count}},
    "last_mut_id", ...}`` (metadata-only leaves blocks out)."""
    label = path_label(request)
    as_json = _json_format(request)
    metadata = flag(request, "metadata-only")
    text = request.query_params.get("mutid")
    mutid = None if text is None else parse_uint64(text, "mutid")
    index = await small_read(ctx, lambda: open_labels(ctx).index(label, mutid=mutid))
    if as_json:
        return JSONResponse(index_to_json(index, blocks=not metadata))
    if metadata:
        meta = index_to_json(index, blocks=False)
        return JSONResponse(
            {
                "num_voxels": index.voxels(),
                "last_mutid": meta["last_mut_id"],
                **{k: meta[k] for k in ("last_mod_time", "last_mod_user", "last_mod_app")},
            }
        )
    data = await run_in_threadpool(dvid_proto.encode_index, index)
    return Response(data, media_type=OCTET)


async def get_indices(request: Request, ctx: InstanceContext) -> Response:
    """The label indexes of the GET body's labels ``[l1, ...]`` as DVID's ``LabelIndices``
    (in order; a label with no index has no blocks); ?format=json: a JSON list."""
    labels = id_list(await json_request(request, ctx, "indices"), "indices")
    if len(labels) > MAX_INDICES:
        raise InvalidRequest(f"indices: {len(labels)} labels asked, at most {MAX_INDICES}")
    as_json = _json_format(request)

    def run() -> list[LabelIndex]:
        view = open_labels(ctx).view
        values = view.get_many([index_key(label) for label in labels])
        return [
            LabelIndex.decode(label, v) if v else LabelIndex(label)
            for label, v in zip(labels, values, strict=True)
        ]

    indices = await run_in_threadpool(run)
    if as_json:
        return JSONResponse([index_to_json(i) for i in indices])
    data = await run_in_threadpool(dvid_proto.encode_indices, indices)
    return Response(data, media_type=OCTET)


async def get_index_version(request: Request, ctx: InstanceContext) -> Response:
    """The UUID of the node that stored the body's visible index (text); 404 if none."""
    label = path_label(request)

    def run() -> str:
        catalog = ctx.access.catalog
        view = catalog.view(ctx.node_uuid, ctx.instance.name)
        found = view.store.scan(*tkey_range(view.instance_id, index_key(label)), keys_only=True)
        key = view.visible_key([k for k, _ in found])
        if key is None:
            raise NotFound(f"label {label} has no label index at this version")
        holder = version_of(key)
        pending, seen = [ctx.node_uuid], set()
        while pending:  # the holder is an ancestor-or-self: walk up to it
            node = catalog.node(pending.pop())
            if node.version_id == holder:
                return node.uuid
            seen.add(node.uuid)
            pending.extend(p for p in node.parents if p not in seen)
        raise NotFound(f"label {label}: the version holding its index is not an ancestor")

    return Response(await run_in_threadpool(run), media_type="text/plain")


# -- ingest ----------------------------------------------------------------------------------
async def _body(request: Request, ctx: InstanceContext, what: str) -> bytes:
    body = await bodies.read_body(request, ctx.max_request_bytes, what)
    if not body:
        raise InvalidRequest(f"{what} needs a body")
    return body


async def post_index(request: Request, ctx: InstanceContext) -> Response:
    """Store the body's label index (DVID's ``LabelIndex`` protobuf; ?format=json the JSON
    form) as given; one with no blocks deletes it. The label must be the path's."""
    label = path_label(request)
    as_json = _json_format(request)
    body = await _body(request, ctx, "index")

    def run() -> None:
        if as_json:
            index = index_from_json(parse_json(body, "index body"), "index body")
        else:
            index = dvid_proto.decode_index(body, "index body")
        if index.body != label:
            raise InvalidRequest(f"index body is for label {index.body}, posted to label {label}")
        open_labels(ctx).ingest_indices([index])

    await run_in_threadpool(run)
    return Response(b"")


async def post_indices(request: Request, ctx: InstanceContext) -> Response:
    """Store label indexes (DVID's ``LabelIndices`` protobuf; ?format=json a JSON list of
    the JSON form), all or none; an index with no blocks deletes the body's."""
    as_json = _json_format(request)
    body = await _body(request, ctx, "indices")

    def run() -> None:
        if as_json:
            value = parse_json(body, "indices body")
            if not isinstance(value, list):
                raise InvalidRequest("indices body must be a JSON list of label indexes")
            indices = [index_from_json(v, f"index {i} of the body") for i, v in enumerate(value)]
        else:
            indices = dvid_proto.decode_indices(body)
        open_labels(ctx).ingest_indices(indices)

    await run_in_threadpool(run)
    return Response(b"")


def _mapping_table(ops: list[tuple[int, list[int]]]) -> dict[int, int]:
    table: dict[int, int] = {}
    for mapped, original in ops:
        for sv in original:
            if table.setdefault(sv, mapped) != mapped:
                raise InvalidRequest(f"supervoxel {sv} is mapped to both {table[sv]} and {mapped}")
    return table


def _json_ops(value: Any) -> list[tuple[int, list[int]]]:
    if not isinstance(value, list):
        raise InvalidRequest('mappings body must be a JSON list of {"mapped", "original"}')
    ops = []
    for i, op in enumerate(value):
        if not isinstance(op, dict) or "mapped" not in op:
            raise InvalidRequest(f'mapping {i} must be an object {{"mapped", "original"}}')
        mapped = id_list([op["mapped"]], f"mapping {i} mapped")[0]
        original = id_list(op.get("original", []), f"mapping {i} original")
        if 0 in original:
            raise InvalidRequest(f"mapping {i} maps supervoxel 0, the protected background value")
        ops.append((mapped, original))
    return ops


async def post_mappings(request: Request, ctx: InstanceContext) -> Response:
    """Map supervoxels to bodies (DVID's ``MappingOps`` protobuf; ?format=json a list of
    ``{"mapped": body, "original": [sv, ...]}``), all or none; label indexes unchanged."""
    as_json = _json_format(request)
    body = await _body(request, ctx, "mappings")

    def run() -> None:
        if as_json:
            ops = _json_ops(parse_json(body, "mappings body"))
        else:
            ops = [(op.mapped, list(op.original)) for op in dvid_proto.decode_mapping_ops(body)]
        open_labels(ctx).ingest_mappings(_mapping_table(ops))

    await run_in_threadpool(run)
    return Response(b"")


async def post_ingest_supervoxels(request: Request, ctx: InstanceContext) -> Response:
    """Replace whole blocks at ?scale= with a block stream of gzipped native blocks, as
    ``POST blocks`` takes, without deriving pyramid levels (DVID: the pipeline posts them).

    At scale 0 the label index, extents and maxlabel follow; repeated blocks are 400."""
    config = config_of(ctx)
    scale = scale_of(request, config)
    body = await bodies.read_body(request, ctx.max_request_bytes, "ingest-supervoxels")
    shape = config.block_shape
    voxels = int(np.prod(shape))
    bound = 16 * voxels + 64  # larger than any native block of this shape
    records = list(block_stream.iter_stream(body))
    decoded_bytes = len(records) * voxels * 8
    bodies.check_size(decoded_bytes, ctx.max_request_bytes, "decoded blocks")
    admit(request, decoded_bytes, "decoded blocks")

    def run() -> None:
        instance = open_labels(ctx)
        blocks: dict[Vec3, np.ndarray] = {}
        for coord, payload in records:  # all decoded first: a bad one stores nothing
            if coord in blocks:
                raise InvalidRequest(f"ingest-supervoxels: block {coord[::-1]} appears twice")
            blocks[coord] = decode_native(_gunzip(payload, bound, coord), shape)
        instance.ingest_blocks(scale, blocks)

    await run_in_threadpool(run)
    return Response(b"")


def index_routes() -> list[BaseRoute]:
    """The label index and ingest routes, for :func:`.routes.label_routes`."""
    fmt = Param("format", {"enum": ["protobuf", "json"]}, "json: voxhub's JSON form")
    labels = {"type": "array", "items": UINT64, "maxItems": MAX_INDICES}
    proto_in = Api(query=(fmt,), body=(OCTET, JSON), body_required=True, answers=())
    index = Api(
        query=(fmt, flag_param("metadata-only"), Param("mutid", {"type": "integer", "minimum": 0})),
        answers=(OCTET, JSON),
    )
    indices = Api(
        query=(fmt,), body=(JSON,), body_schema=labels, body_required=True, answers=(OCTET, JSON)
    )
    ingest = Api(query=(SCALE,), body=(OCTET,), body_required=True, answers=())
    get, post = ["GET"], ["POST"]
    return [
        instance_route("/index/{label}", get_index, methods=get, api=index),
        instance_route("/index/{label}", post_index, methods=post, api=proto_in),
        instance_route("/indices", get_indices, methods=get, api=indices),
        instance_route("/indices", post_indices, methods=post, api=proto_in),
        instance_route(
            "/index-version/{label}", get_index_version, methods=get, api=Api(answers=(TEXT,))
        ),
        instance_route("/mappings", post_mappings, methods=post, api=proto_in),
        instance_route("/ingest-supervoxels", post_ingest_supervoxels, methods=post, api=ingest),
    ]
