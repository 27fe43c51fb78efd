"""labelmap index-backed reads: sizes, supervoxels, lastmod, sparsevol-size, maxlabel,
nextlabel, mapping(s) and listlabels (see :mod:`.routes`;
the sparsevols themselves are in :mod:`.routes_sparsevol`).

Label paths refuse label 0 (400) and answer 404 for a label with no voxels at the node,
as DVID does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import KEY_MAPPING, id_of, index_key, key_range
from voxhub.datatypes.labelmap.routes import (
    OCTET,
    config_of,
    counters_of,
    id_list,
    json_request,
    open_labels,
    path_label,
    supervoxels_flag,
)
from voxhub.datatypes.wire.context import InstanceContext
from voxhub.datatypes.wire.flags import flag
from voxhub.datatypes.wire.numbers import parse_uint64
from voxhub.datatypes.wire.offload import small_read
from voxhub.errors import InvalidRequest, NotFound
from voxhub.geometry import Vec3

MAX_LISTED = 10_000_000


def _json_text(key: str, value: int) -> Response:
    # DVID writes these by hand with a space after the colon; clients compare the text.
    return Response(f'{{"{key}": {value}}}', media_type="application/json")


# -- sizes, supervoxels, lastmod -------------------------------------------------------
async def get_size(request: Request, ctx: InstanceContext) -> Response:
    """``{"voxels": N}`` of a body (of a supervoxel with ?supervoxels=true); 404 if none."""
    label = path_label(request)
    sv = supervoxels_flag(request)
    n = await small_read(ctx, lambda: open_labels(ctx).size(label, supervoxels=sv))
    return JSONResponse({"voxels": n})


async def get_sizes(request: Request, ctx: InstanceContext) -> Response:
    """The sizes of the labels of the GET body ``[l1, ...]`` (0 if unknown).

    ?supervoxels=true for supervoxel sizes."""
    labels = id_list(await json_request(request, ctx, "sizes"), "sizes")
    sv = supervoxels_flag(request)

    def run() -> list[int]:
        instance = open_labels(ctx)
        out = []
        for label in labels:
            try:
                out.append(instance.size(label, supervoxels=sv) if label else 0)
            except (NotFound, InvalidRequest):  # no voxels, or a retired supervoxel
                out.append(0)
        return out

    return JSONResponse(await run_in_threadpool(run))


async def get_supervoxels(request: Request, ctx: InstanceContext) -> Response:
    """The supervoxels of a body ``[sv, ...]`` (ascending); 404 if it has no voxels."""
    label = path_label(request)
    return JSONResponse(await small_read(ctx, lambda: open_labels(ctx).supervoxels(label)))


async def get_supervoxel_sizes(request: Request, ctx: InstanceContext) -> Response:
    """``{"supervoxels": [...], "sizes": [...]}`` of a body; 404 if it has no voxels."""
    label = path_label(request)
    sizes = await small_read(ctx, lambda: open_labels(ctx).supervoxel_sizes(label))
    return JSONResponse({"supervoxels": list(sizes), "sizes": list(sizes.values())})


async def get_lastmod(request: Request, ctx: InstanceContext) -> Response:
    """The mutation id, user, app and time of a body's last mutation; 404 if unknown.

    ``{"mutation id", "last mod user", "last mod app", "last mod time"}``, 0 and empty
    strings if the body was only ever written."""
    label = path_label(request)
    meta = await small_read(ctx, lambda: open_labels(ctx).lastmod(label))
    blank: dict[str, Any] = {
        "mutation id": 0,
        "last mod user": "",
        "last mod app": "",
        "last mod time": "",
    }
    return JSONResponse({**blank, **meta})


# -- sparsevol sizes (the sparsevols themselves: routes_sparsevol) -------------------
def _blocks_of(request: Request, ctx: InstanceContext, label: int) -> tuple[list[Vec3], int]:
    sv = supervoxels_flag(request)
    index = open_labels(ctx).index(label, supervoxels=sv)
    coords = index.blocks_of({label} if sv else None)
    if not coords:
        raise NotFound(f"supervoxel {label} has no voxels at this version")
    return coords, index.voxels(label if sv else None)


async def get_sparsevol_size(request: Request, ctx: InstanceContext) -> Response:
    """``{"voxels", "numblocks", "minvoxel", "maxvoxel"}`` (block-aligned); 404 if unknown.

    From the label index alone; ?supervoxels=true."""
    label = path_label(request)
    coords, voxels = await small_read(ctx, lambda: _blocks_of(request, ctx, label))
    bs = config_of(ctx).block_shape
    lo = np.min(np.array(coords), axis=0) * bs
    hi = (np.max(np.array(coords), axis=0) + 1) * bs - 1
    return JSONResponse(
        {
            "voxels": voxels,
            "numblocks": len(coords),
            "minvoxel": [int(v) for v in lo[::-1]],
            "maxvoxel": [int(v) for v in hi[::-1]],
        }
    )


# -- counters --------------------------------------------------------------------------
async def get_maxlabel(request: Request, ctx: InstanceContext) -> Response:
    """``{"maxlabel": N}``, the largest label at this node; 400 before any exists."""
    n = await small_read(ctx, lambda: open_labels(ctx).maxlabel())
    if n == 0:
        raise InvalidRequest("no maximum label: nothing has been written at this version")
    return _json_text("maxlabel", n)


async def get_nextlabel(request: Request, ctx: InstanceContext) -> Response:
    """``{"nextlabel": N}``: the first id the next reservation or cleave would get."""
    n = await small_read(ctx, lambda: counters_of(ctx.access, ctx.instance).next_label())
    return _json_text("nextlabel", n)


# -- mapping -----------------------------------------------------------------------------
async def get_mapping(request: Request, ctx: InstanceContext) -> Response:
    """The bodies ``[body, ...]`` of the supervoxels ``[sv, ...]`` of the GET body.

    0 for 0, retired supervoxels and ids with no voxels (unless ?nolookup=true)."""
    svs = id_list(await json_request(request, ctx, "mapping"), "mapping")
    nolookup = flag(request, "nolookup")

    def run() -> list[int]:
        instance = open_labels(ctx)
        mapped = instance.mapping(svs)
        if nolookup:
            return mapped
        found = sorted({b for b in mapped if b})
        values = instance.view.get_many([index_key(b) for b in found])
        owned = {
            b: LabelIndex.decode(b, v).supervoxel_sizes().keys() if v else set()
            for b, v in zip(found, values, strict=True)
        }
        return [b if b and s in owned[b] else 0 for s, b in zip(svs, mapped, strict=True)]

    return JSONResponse(await run_in_threadpool(run))


async def get_mappings(request: Request, ctx: InstanceContext) -> Response:
    """Lines ``sv body`` for every supervoxel not its own body (?format=binary: uint64s).

    Retired supervoxels map to 0; binary is little-endian uint64 pairs."""
    fmt = request.query_params.get("format", "").lower()
    if fmt not in ("", "text", "binary"):
        raise InvalidRequest(f"mappings format {fmt!r} is not one of text, binary")

    def run() -> list[tuple[int, int]]:
        start, end = key_range(KEY_MAPPING)
        view = open_labels(ctx).view
        return [(id_of(k), int.from_bytes(v, "big")) for k, v in view.scan(start, end) if v]

    pairs = await run_in_threadpool(run)
    if fmt == "binary":
        return Response(np.array(pairs, dtype="<u8").reshape(-1, 2).tobytes(), media_type=OCTET)
    text = "".join(f"{sv} {body}\n" for sv, body in pairs)
    return Response(text, media_type="text/plain")


async def get_listlabels(request: Request, ctx: InstanceContext) -> Response:
    """Bodies with voxels at this node as little-endian uint64s, ascending.

    From ?start= (inclusive), at most ?number= labels; ?sizes=true interleaves sizes."""
    numbers = {}
    for name, default in (("start", 0), ("number", MAX_LISTED)):
        text = request.query_params.get(name, str(default))
        numbers[name] = parse_uint64(text, f"listlabels {name}")
    sizes = flag(request, "sizes")
    count = min(numbers["number"], MAX_LISTED)

    def run() -> list[int]:
        instance = open_labels(ctx)
        labels = [v for v in instance.labels() if v >= numbers["start"]][:count]
        if not sizes:
            return labels
        return [x for label in labels for x in (label, instance.size(label))]

    values = await run_in_threadpool(run)
    return Response(np.array(values, dtype="<u8").tobytes(), media_type=OCTET)
