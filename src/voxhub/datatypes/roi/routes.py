"""HTTP routes of roi instances (DVID's ``roi``), relative to ``/api/node/{uuid}/{name}``.

``roi`` (GET/POST/DELETE), ``mask/0_1_2/{size}/{offset}``, ``ptquery`` (POST, also on
committed nodes: it writes nothing), ``partition?batchsize=N`` and ``info``. What
differs from DVID is listed in :mod:`.dvid_differences` (``/api/help/roi``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.roi.dvid_info import roi_info_json
from voxhub.datatypes.roi.instance import RoiInstance, open_roi_instance
from voxhub.datatypes.roi.partition import partition
from voxhub.datatypes.roi.spans import spans_from_json
from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire.api import OCTET, POINT, Api, Param, flag_param, json_api
from voxhub.datatypes.wire.budget import admit
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.json_body import read_json
from voxhub.datatypes.wire.numbers import parse_int
from voxhub.datatypes.wire.offload import small_read
from voxhub.datatypes.wire.url_geometry import dvid_box, parse_dims
from voxhub.errors import InvalidRequest

#: the largest voxel coordinate a point query takes (blocks of any size stay in int64)
MAX_COORDINATE = 2**47
SPAN = {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4}


def open_instance(ctx: InstanceContext) -> RoiInstance:
    """The roi a request addresses, at its node (blocking)."""
    return open_roi_instance(ctx.access.catalog, ctx.node_uuid, ctx.instance)


async def get_info(request: Request, ctx: InstanceContext) -> Response:
    """DVID's instance info: ``Base`` and ``Extended`` (``BlockSize``, ``MinZ``, ``MaxZ``)."""
    return JSONResponse(
        await small_read(ctx, lambda: roi_info_json(ctx.access, ctx.node_uuid, ctx.instance))
    )


async def get_roi(request: Request, ctx: InstanceContext) -> Response:
    """Every span ``[z, y, x0, x1]`` (blocks, ``x1`` inclusive), sorted and merged."""
    spans = await run_in_threadpool(lambda: open_instance(ctx).spans())
    return JSONResponse(spans.tolist())


async def post_roi(request: Request, ctx: InstanceContext) -> Response:
    """Replace the ROI by the posted spans (a bad span is a 400; nothing is stored)."""
    spans = await read_json(request, "ROI", _posted_spans)
    await run_in_threadpool(lambda: open_instance(ctx).set(spans))
    return Response(b"")


def _posted_spans(value: Any) -> np.ndarray:
    if value is None:
        raise InvalidRequest("ROI body is empty; send a JSON list of [z, y, x0, x1] spans")
    return spans_from_json(value)


async def delete_roi(request: Request, ctx: InstanceContext) -> Response:
    """Remove every span at this node."""
    await run_in_threadpool(lambda: open_instance(ctx).delete())
    return Response(b"")


async def get_mask(request: Request, ctx: InstanceContext) -> Response:
    """``prod(size)`` bytes, z-y-x: 1 inside the ROI, 0 outside (3-D ``0_1_2`` only)."""
    params = request.path_params
    dims = parse_dims(params["dims"])
    if not dims.is_3d:
        raise InvalidRequest(f"dims {params['dims']!r}: roi masks are 3-D (0_1_2) only")
    box = dvid_box(dims, params["size"], params["offset"])
    bodies.check_size(box.size, ctx.max_request_bytes, "mask")
    admit(request, box.size, "mask")
    mask = await run_in_threadpool(lambda: open_instance(ctx).mask(box))
    return Response(mask.view(np.uint8).tobytes(), media_type=OCTET)


async def post_ptquery(request: Request, ctx: InstanceContext) -> Response:
    """``[[x,y,z], ...]`` voxels → ``[true, false, ...]``, in the order sent."""
    points = await read_json(request, "ptquery body", _posted_points)
    inside = await run_in_threadpool(lambda: open_instance(ctx).contains(points))
    return JSONResponse(inside.tolist())


def _posted_points(value: Any) -> np.ndarray:
    """DVID's ``[[x, y, z], ...]`` as ``(N, 3)`` z, y, x int64."""
    if not isinstance(value, list):
        raise InvalidRequest("ptquery body must be a JSON list of [x, y, z] points")
    out = np.empty((len(value), 3), dtype=np.int64)
    for i, point in enumerate(value):
        if not isinstance(point, list) or len(point) != 3:
            raise InvalidRequest(f"ptquery point {i} must be [x, y, z], got {point!r}")
        for v in point:
            if isinstance(v, bool) or not isinstance(v, int):
                raise InvalidRequest(f"ptquery point {i} {point!r} must hold integers")
            if abs(v) > MAX_COORDINATE:
                raise InvalidRequest(
                    f"ptquery point {i} {point!r}: coordinates lie within ±{MAX_COORDINATE}"
                )
        out[i] = point[::-1]
    return out


async def get_ptquery(request: Request, ctx: InstanceContext) -> Response:
    """As POST, the points sent as a GET body (what read-only clients send); 400 without.

    DVID answers every GET with 400."""
    points = await read_json(request, "ptquery body", _get_points)
    inside = await run_in_threadpool(lambda: open_instance(ctx).contains(points))
    return JSONResponse(inside.tolist())


def _get_points(value: Any) -> np.ndarray:
    if value is None:
        raise InvalidRequest("ptquery requires a JSON list of [x, y, z] points (POST, or GET body)")
    return _posted_points(value)


async def get_partition(request: Request, ctx: InstanceContext) -> Response:
    """DVID's subvolumes of ``batchsize``³ blocks covering the ROI (``batchsize`` required).

    See :mod:`voxhub.datatypes.roi.partition`."""
    text = request.query_params.get("batchsize")
    if text is None:
        raise InvalidRequest("partition needs ?batchsize=N (blocks per subvolume edge)")
    batch = parse_int(text, "batchsize", 1, 1 << 16)
    if request.query_params.get("optimized", "").lower() in ("true", "on"):
        raise InvalidRequest(
            "partition: optimized=true (DVID's hole-merging partition) is not served; "
            "leave it out for DVID's default grid partition"
        )

    def run() -> dict[str, Any]:
        instance = open_instance(ctx)
        return partition(instance.spans(), instance.block_shape, batch)

    return JSONResponse(await run_in_threadpool(run))


def roi_routes() -> list[BaseRoute]:
    """The routes of one roi instance."""
    get, post = ["GET"], ["POST"]
    spans = json_api({"type": "array", "items": SPAN}, required=True, answers=())
    points = json_api({"type": "array", "items": POINT}, required=True)
    batch = Param("batchsize", {"type": "integer", "minimum": 1}, "blocks per edge", True)
    optimized = flag_param("optimized", "DVID's hole-merging partition (refused: 400)")
    return [
        instance_route("/info", get_info, methods=get),
        instance_route("/roi", get_roi, methods=get),
        instance_route("/roi", post_roi, methods=post, api=spans),
        instance_route("/roi", delete_roi, methods=["DELETE"], api=Api(answers=())),
        instance_route(
            "/mask/{dims}/{size}/{offset}", get_mask, methods=get, api=Api(answers=(OCTET,))
        ),
        instance_route("/ptquery", post_ptquery, methods=post, api=points),
        instance_route("/ptquery", get_ptquery, methods=get, api=points),
        instance_route("/partition", get_partition, methods=get, api=Api(query=(batch, optimized))),
    ]
