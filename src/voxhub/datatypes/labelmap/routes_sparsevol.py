"""labelmap sparse volumes: ``sparsevol`` (rles, srles, blocks; any scale),
``sparsevol-by-point``, ``sparsevol-coarse`` and ``sparsevols-coarse`` (see :mod:`.routes`).

A body's sparsevol at ``?scale=N`` holds the voxels of level N that read as the body, in
level-N voxels: the blocks come from the label index (scale-0 blocks mapped to level N,
:mod:`.body_blocks`), the bounds ``minx…maxz`` (inclusive, level-N voxels) select blocks
before any is read and then clip the runs. A body can vanish at a coarse level (a thin
process outvoted in every cell): that is 404 for GET and 204 for HEAD, as a body with no
voxels within the bounds. ``exact=false`` is accepted; voxhub always clips exactly.

Statuses: label 0 is 400, an unknown label 404, HEAD 200/204 (DVID).
"""

from __future__ import annotations

import struct

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from voxhub.datatypes.labelmap import rle, sparsevol_blocks
from voxhub.datatypes.labelmap.body_blocks import block_meets
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import KEY_INDEX, id_of, index_key, key_range
from voxhub.datatypes.labelmap.rle import Runs
from voxhub.datatypes.labelmap.routes import (
    OCTET,
    SPARSEVOL_BOUNDS,
    config_of,
    open_labels,
    parse_id,
    path_label,
    scale_of,
    supervoxels_flag,
)
from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire.context import InstanceContext
from voxhub.datatypes.wire.flags import flag
from voxhub.datatypes.wire.numbers import INT32_MAX, INT32_MIN, parse_coord
from voxhub.datatypes.wire.offload import small_read
from voxhub.datatypes.wire.url_geometry import parse_ints
from voxhub.errors import InvalidRequest, NotFound
from voxhub.geometry import Box, Vec3

FORMATS = ("rles", "srles", "blocks")
_COARSE_HEAD = struct.Struct("<Qi")  # sparsevols-coarse: label, span count


def bounds_of(request: Request) -> Box | None:
    """DVID's inclusive ``minx…maxz`` query bounds as a half-open box (None if absent)."""
    values: dict[str, int] = {}
    for name in SPARSEVOL_BOUNDS:
        text = request.query_params.get(name)
        if text is None:
            continue
        # runs address int32 voxels: a bound past that range selects the same voxels
        values[name] = max(INT32_MIN, min(INT32_MAX, parse_coord(text, name)))
    return rle.bounds_box(**values) if values else None


def _options(request: Request) -> tuple[str, str]:
    fmt = request.query_params.get("format", "rles").lower()
    if fmt not in FORMATS:
        raise InvalidRequest(f"sparsevol format {fmt!r} is not one of {', '.join(FORMATS)}")
    compression = request.query_params.get("compression", "").lower() or "raw"
    if compression not in ("raw", "lz4", "gzip"):
        raise InvalidRequest(f"sparsevol compression {compression!r} is not one of lz4, gzip")
    flag(request, "exact")  # accepted (DVID's speed hint); voxhub's runs are always exact
    return fmt, compression


def _clipped(mask: np.ndarray, box: Box, within: Box | None) -> np.ndarray:
    """``mask`` of block ``box`` with the voxels outside ``within`` cleared."""
    if within is None or within.contains(box):
        return mask
    out = np.zeros(mask.shape, bool)
    inner = box.intersect(within)
    if not inner.empty:
        out[inner.relative_to(box.start)] = mask[inner.relative_to(box.start)]
    return out


async def _sparsevol(
    request: Request, ctx: InstanceContext, label: int, scale: int, *, head: bool
) -> Response:
    fmt, compression = _options(request)
    box = bounds_of(request)
    sv = supervoxels_flag(request)

    def runs() -> bytes | None:
        if head and scale == 0 and box is None:  # the label index alone answers
            index = open_labels(ctx).index(label, supervoxels=sv)
            return b"" if index.blocks_of({label} if sv else None) else None
        found = open_labels(ctx).sparsevol(label, supervoxels=sv, scale=scale, within=box)
        if not len(found):
            return None
        if head:
            return b""
        return rle.encode_rles(found) if fmt == "rles" else rle.encode_srles(found)

    def blocks() -> bytes | None:
        shape = config_of(ctx).block_shape
        header = sparsevol_blocks.encode_header(shape, label)  # refuses odd shapes first
        parts = open_labels(ctx).map_blocks(
            label,
            lambda b, mask: sparsevol_blocks.encode_block(b.start, _clipped(mask, b, box)),
            supervoxels=sv,
            scale=scale,
            within=box,
        )
        body = b"".join(parts)
        return header + body if body else None

    try:
        data = await run_in_threadpool(blocks if fmt == "blocks" and not head else runs)
    except NotFound:
        if head:
            return Response(status_code=204)
        raise
    if head:
        return Response(status_code=200 if data is not None else 204)
    if data is None:
        raise NotFound(f"label {label} has no voxels at scale {scale} within the requested bounds")
    if compression != "raw" and fmt != "blocks":  # DVID sends blocks uncompressed
        data = await run_in_threadpool(bodies.compress, data, compression)
    return Response(data, media_type=OCTET)


async def get_sparsevol(request: Request, ctx: InstanceContext) -> Response:
    """The label's voxels at ?scale= (rles, srles, blocks); HEAD is 200 if any, else 204.

    ?format=rles (DVID's 12-byte header, default), srles or blocks (DVID's binary block
    masks); in voxels of that scale, clipped to the inclusive ?minx=&maxx=&miny=&maxy=
    &minz=&maxz=; ?compression=lz4|gzip (rles and srles); ?supervoxels=true. 404 if
    unknown or empty within the bounds at that scale."""
    label = path_label(request)
    scale = scale_of(request, config_of(ctx))
    return await _sparsevol(request, ctx, label, scale, head=request.method == "HEAD")


async def get_sparsevol_by_point(request: Request, ctx: InstanceContext) -> Response:
    """The sparsevol of the label at voxel x_y_z of level ?scale=; 400 if that is label 0.

    Same options as ``sparsevol``."""
    x, y, z = parse_ints(request.path_params["point"], 3, "point")
    scale = scale_of(request, config_of(ctx))
    sv = supervoxels_flag(request)

    def run() -> int:
        box = Box((z, y, x), (z + 1, y + 1, x + 1))
        return int(open_labels(ctx).read(box, scale, supervoxels=sv)[0, 0, 0])

    label = await small_read(ctx, run)
    if label == 0:
        raise InvalidRequest(f"voxel ({x}, {y}, {z}) is label 0, the protected background value")
    return await _sparsevol(request, ctx, label, scale, head=False)


def _coarse_runs(index: LabelIndex, supervoxel: int | None, box: Box | None, shape: Vec3) -> Runs:
    """The index's blocks (those holding ``supervoxel`` if given) that meet ``box``, as
    runs of block coordinates."""
    coords = index.blocks_of(None if supervoxel is None else {supervoxel})
    if box is not None:
        coords = [c for c in coords if block_meets(c, shape, box)]
    return rle.runs_from_points(coords)


async def get_sparsevol_coarse(request: Request, ctx: InstanceContext) -> Response:
    """The blocks holding the label as rles runs of block coordinates; 404 if unknown.

    ?supervoxels=true; blocks meeting the inclusive voxel bounds ?minx=…&maxz= only."""
    label = path_label(request)
    sv = supervoxels_flag(request)
    box = bounds_of(request)
    shape = config_of(ctx).block_shape

    def run() -> np.ndarray:
        index = open_labels(ctx).index(label, supervoxels=sv)
        if sv and not index.blocks_of({label}):
            raise NotFound(f"supervoxel {label} has no voxels at this version")
        return _coarse_runs(index, label if sv else None, box, shape)

    runs = await small_read(ctx, run)
    return Response(rle.encode_rles(runs), media_type=OCTET)


async def get_sparsevols_coarse(request: Request, ctx: InstanceContext) -> Response:
    """The coarse sparsevols of every body from ``first`` to ``last`` (inclusive), as
    DVID streams them: per body ``uint64 label, int32 spans``, then its spans ``int32 x,
    y, z, length`` of block coordinates, little-endian, bodies ascending.

    Reads the stored label indices of that range only; a body with no block within the
    voxel bounds ?minx=…&maxz= is listed with 0 spans (DVID). 413 past the byte limit."""
    first = parse_id(request.path_params["first"], "first label")
    last = parse_id(request.path_params["last"], "last label")
    box = bounds_of(request)
    shape = config_of(ctx).block_shape
    limit = ctx.max_request_bytes

    def run() -> bytes:
        view = open_labels(ctx).view
        out = bytearray()
        if last < first:
            return bytes(out)
        # type keys are prefixes of stored keys (their versions follow): end at the next id
        end = index_key(last + 1) if last < 2**64 - 1 else key_range(KEY_INDEX)[1]
        for key, value in view.scan(index_key(first), end):
            if not value:
                continue
            body = id_of(key)
            runs = _coarse_runs(LabelIndex.decode(body, value), None, box, shape)
            out += _COARSE_HEAD.pack(body, len(runs)) + rle.encode_srles(runs)
            bodies.check_size(len(out), limit, "sparsevols-coarse answer")
        return bytes(out)

    return Response(await run_in_threadpool(run), media_type=OCTET)
