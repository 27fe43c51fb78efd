"""HTTP routes of annotation instances (DVID's ``annotation``), relative to the instance.

DVID's names and JSON shapes: ``elements`` (POST a list; GET ``{size}/{offset}``, exact),
``blocks`` (GET ``{size}/{offset}``: ``{"x,y,z": [elements]}`` of every block meeting the
box; POST the same shape), ``all-elements``, ``label/{label}``, ``labels``, ``tag/{tag}``,
``roi/{roi}``, ``move/{from_coord}/{to_coord}``, ``element/{coord}`` (DELETE), ``reload``
and ``info``. DVID's ``?kafkalog=`` is accepted and ignored. What differs from DVID is
listed in :mod:`.dvid_differences` (``/api/help/annotation``).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.annotation.codec import encode_block
from voxhub.datatypes.annotation.dvid_info import annotation_info_json
from voxhub.datatypes.annotation.element_json import parse_elements, to_json_text
from voxhub.datatypes.annotation.elements import Elements, concat
from voxhub.datatypes.annotation.instance import AnnotationInstance
from voxhub.datatypes.wire.api import JSON, LABEL_LIST, OCTET, Api, Param, flag_param, json_api
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.json_body import read_json
from voxhub.datatypes.wire.numbers import parse_label
from voxhub.datatypes.wire.offload import small_read
from voxhub.datatypes.wire.url_geometry import Dims, dvid_box, parse_ints, xyz_to_zyx
from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3

_ELEMENT = {"type": "object", "properties": {"Pos": {"type": "array"}, "Kind": {"type": "string"}}}
_ELEMENTS = {"type": "array", "items": _ELEMENT}
_RELATIONSHIPS = Param(
    "relationships", {"enum": ["true", "false", "verbose"]}, "include each element's Rels"
)
_KAFKA = Param("kafkalog", {"type": "string"}, "accepted and ignored (no kafka log)")
_FORMAT = Param(
    "format",
    {"enum": ["json", "columns"]},
    "columns: voxhub's binary element columns (octet-stream, Rels always included; "
    "see /api/help/annotation), several times faster to write and read than JSON",
)


def open_instance(ctx: InstanceContext) -> AnnotationInstance:
    """The annotation a request addresses, at its node (blocking)."""
    return AnnotationInstance(ctx.access, ctx.node_uuid, ctx.instance)


def _json(value: Any) -> Response:
    return JSONResponse(value)


def _coord(text: str, what: str) -> Vec3:
    return xyz_to_zyx(parse_ints(text, 3, what))


def _rels(request: Request) -> bool:
    text = request.query_params.get("relationships", "false").lower()
    if text not in ("true", "false", "verbose", "1", "0", ""):
        raise InvalidRequest(f"relationships={text!r} must be true, false or verbose")
    return text in ("true", "verbose", "1")


def _columns(request: Request) -> bool:
    text = request.query_params.get("format", "json")
    if text not in ("json", "columns"):
        raise InvalidRequest(f"format={text!r} must be json or columns")
    return text == "columns"


def _elements(found: Elements, *, rels: bool = True, columns: bool = False) -> Response:
    """DVID's JSON of ``found``, or with ``columns`` the binary columns of
    :func:`~.codec.encode_block` (relationships always included)."""
    if columns:
        return Response(encode_block(found), media_type=OCTET)
    return Response(to_json_text(found, rels=rels).encode(), media_type=JSON)


def _blocks_json(blocks: dict[Vec3, Elements]) -> Response:
    """DVID's ``{"x,y,z": [elements], ...}``."""
    parts = [f'"{b[2]},{b[1]},{b[0]}":{to_json_text(e)}' for b, e in sorted(blocks.items())]
    return Response(("{" + ",".join(parts) + "}").encode(), media_type=JSON)


async def get_info(request: Request, ctx: InstanceContext) -> Response:
    """DVID's instance info: ``Base`` and ``Extended`` (``BlockSize``)."""
    return _json(annotation_info_json(ctx.access, ctx.node_uuid, ctx.instance))


async def post_elements(request: Request, ctx: InstanceContext) -> Response:
    """Add or replace elements (a JSON list); all or nothing."""
    batch = await read_json(request, "elements", parse_elements)
    await run_in_threadpool(lambda: open_instance(ctx).add(batch))
    return Response(b"")


async def get_elements(request: Request, ctx: InstanceContext) -> Response:
    """The elements inside the box, with Rels (``[]`` when none)."""
    box = dvid_box(Dims((0, 1, 2)), request.path_params["size"], request.path_params["offset"])
    columns = _columns(request)
    return await run_in_threadpool(
        lambda: _elements(open_instance(ctx).elements_in(box), columns=columns)
    )


async def get_blocks(request: Request, ctx: InstanceContext) -> Response:
    """``{"x,y,z": [elements]}`` of every stored block meeting the box (unfiltered)."""
    box = dvid_box(Dims((0, 1, 2)), request.path_params["size"], request.path_params["offset"])
    return await run_in_threadpool(lambda: _blocks_json(open_instance(ctx).blocks_in(box)))


def _block_batches(value: Any) -> Elements:
    if not isinstance(value, dict):
        raise InvalidRequest('blocks must be a JSON object {"x,y,z": [elements], ...}')
    parts = []
    for coord, items in value.items():
        parse_ints(str(coord).replace(",", "_"), 3, "block coordinate")
        parts.append(parse_elements(items, f"block {coord}"))
    return concat(parts)


async def post_blocks(request: Request, ctx: InstanceContext) -> Response:
    """Store elements given per block (each filed where its position lies)."""
    batch = await read_json(request, "blocks", _block_batches)
    await run_in_threadpool(lambda: open_instance(ctx).add(batch))
    return Response(b"")


async def get_all(request: Request, ctx: InstanceContext) -> Response:
    """Every stored block's elements, as ``blocks`` answers."""
    return await run_in_threadpool(lambda: _blocks_json(dict(open_instance(ctx).all_blocks())))


async def get_label(request: Request, ctx: InstanceContext) -> Response:
    """The elements on body ``{label}`` (``[]`` when none); Rels with ``relationships``."""
    body = parse_label(request.path_params["label"])
    rels, columns = _rels(request), _columns(request)
    return await small_read(
        ctx, lambda: _elements(open_instance(ctx).label(body), rels=rels, columns=columns)
    )


def _body_list(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**64 for v in value
    ):
        raise InvalidRequest("labels body must be a JSON list of body ids (uint64, not 0)")
    return list(value)


async def get_labels(request: Request, ctx: InstanceContext) -> Response:
    """``{"<body>": [elements], ...}`` for a JSON list of body ids (GET or POST).

    DVID's POST of ``{"<label>": "<elements JSON>"}`` (label index ingest) is accepted
    and changes nothing: voxhub derives label indexes itself."""
    value = await read_json(request, "labels", lambda v: v)
    if request.method == "POST" and isinstance(value, dict):
        return Response(b"")
    bodies = _body_list(value)
    rels = _rels(request)
    found = await run_in_threadpool(lambda: open_instance(ctx).labels(bodies))
    parts = [f'"{b}":{to_json_text(e, rels=rels)}' for b, e in found.items()]
    return Response(("{" + ",".join(parts) + "}").encode(), media_type=JSON)


async def get_tag(request: Request, ctx: InstanceContext) -> Response:
    """The elements carrying ``{tag}``; Rels with ``relationships``."""
    tag = request.path_params["tag"]
    rels, columns = _rels(request), _columns(request)
    return await run_in_threadpool(
        lambda: _elements(open_instance(ctx).tag(tag), rels=rels, columns=columns)
    )


async def get_roi(request: Request, ctx: InstanceContext) -> Response:
    """The elements inside the roi ``name[,uuid]`` (this node's if no UUID)."""
    spec = request.path_params["roi"].split(",")
    if len(spec) > 2 or not spec[0]:
        raise InvalidRequest(
            f"roi specification {request.path_params['roi']!r} must be name[,uuid]"
        )
    node = ctx.access.catalog.node(spec[1]).uuid if len(spec) == 2 else None
    columns = _columns(request)
    return await run_in_threadpool(
        lambda: _elements(open_instance(ctx).roi(spec[0], node), columns=columns)
    )


async def delete_element(request: Request, ctx: InstanceContext) -> Response:
    """Delete the element at ``{coord}`` and every relationship to it (400 if none)."""
    zyx = _coord(request.path_params["coord"], "element coordinate")
    await run_in_threadpool(lambda: open_instance(ctx).delete(zyx))
    return Response(b"")


async def post_move(request: Request, ctx: InstanceContext) -> Response:
    """Move an element, retargeting every relationship to it (400: none there, or taken).

    400 if no element is at ``from_coord`` or one is at ``to_coord``."""
    src = _coord(request.path_params["from_coord"], "from coordinate")
    dst = _coord(request.path_params["to_coord"], "to coordinate")
    await run_in_threadpool(lambda: open_instance(ctx).move(src, dst))
    return Response(b"")


async def post_reload(request: Request, ctx: InstanceContext) -> Response:
    """Rebuild the tag index at this node, synchronously (label views are never stale)."""
    await run_in_threadpool(lambda: open_instance(ctx).reload())
    return Response(b"")


def annotation_routes() -> list[BaseRoute]:
    """The routes of one annotation instance, relative to ``/api/node/{uuid}/{name}``."""
    get, post = ["GET"], ["POST"]
    posted = Api(
        query=(_KAFKA,), body=(JSON,), body_schema=_ELEMENTS, body_required=True, answers=()
    )
    blocks_in = Api(query=(_KAFKA,), body=(JSON,), body_schema={"type": "object"}, answers=())
    rels = Api(query=(_RELATIONSHIPS, _FORMAT), answers=(JSON, OCTET))
    found = Api(query=(_FORMAT,), answers=(JSON, OCTET))
    labels_in = json_api(LABEL_LIST, required=True)
    labels_in = Api(query=(_RELATIONSHIPS,), body=labels_in.body, body_schema=LABEL_LIST)
    write = Api(query=(_KAFKA,), answers=())
    reload = Api(query=(flag_param("check"), flag_param("inmemory")), answers=())
    return [
        instance_route("/info", get_info, methods=get),
        instance_route("/elements", post_elements, methods=post, api=posted),
        instance_route("/elements/{size}/{offset}", get_elements, methods=get, api=found),
        instance_route("/blocks/{size}/{offset}", get_blocks, methods=get),
        instance_route("/blocks", post_blocks, methods=post, api=blocks_in),
        instance_route("/all-elements", get_all, methods=get),
        instance_route("/label/{label}", get_label, methods=get, api=rels),
        instance_route("/labels", get_labels, methods=["GET", "POST"], api=labels_in),
        instance_route("/tag/{tag}", get_tag, methods=get, api=rels),
        instance_route("/roi/{roi}", get_roi, methods=get, api=found),
        instance_route("/element/{coord}", delete_element, methods=["DELETE"], api=write),
        instance_route("/move/{from_coord}/{to_coord}", post_move, methods=post, api=write),
        instance_route("/reload", post_reload, methods=post, api=reload),
    ]
