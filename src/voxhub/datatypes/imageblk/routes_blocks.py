"""Block routes of image instances: DVID's block streams and block spans.

``subvolblocks`` returns every block of a block-aligned box (unwritten ones as encoded
background), ``specificblocks`` the listed blocks that exist; both answer DVID's block
stream (:mod:`voxhub.datatypes.wire.block_stream`). ``blocks/{offset}/{nblocks}`` reads
and writes a run of blocks along x as raw voxels, one block after another.
"""

from __future__ import annotations

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.routes import (
    OCTET,
    check_box,
    config_of,
    open_instance,
    read_voxels,
    scale_param,
    volume_bytes,
)
from voxhub.datatypes.wire import block_stream, bodies
from voxhub.datatypes.wire.budget import admit
from voxhub.datatypes.wire.context import InstanceContext
from voxhub.datatypes.wire.url_geometry import (
    aligned_box,
    parse_block_list,
    parse_block_span,
)
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box


async def get_subvolblocks(request: Request, ctx: InstanceContext) -> Response:
    """The block stream of a block-aligned box (unset blocks left out; ``?compression=``)."""
    params = request.path_params
    config = config_of(ctx)
    box = aligned_box(params["size"], params["offset"], config.block_shape, "subvolblocks")
    scale = scale_param(request, config)
    payload = block_stream.parse_payload(request.query_params.get("compression"))
    check_box(box, config, ctx.max_request_bytes, "subvolblocks")
    admit(request, box.size * np.dtype(config.dtype).itemsize, "subvolblocks")
    coords = list(config.layout(scale).grid.blocks_in(box))
    return await _stream(ctx, config, scale, coords, payload, fill_missing=True)


async def get_specificblocks(request: Request, ctx: InstanceContext) -> Response:
    """The block stream of the blocks ``?blocks=x,y,z,...`` (unset ones left out)."""
    config = config_of(ctx)
    coords = parse_block_list(request.query_params.get("blocks", ""))
    scale = scale_param(request, config)
    payload = block_stream.parse_payload(request.query_params.get("compression"))
    block_bytes = int(np.prod(config.block_shape)) * np.dtype(config.dtype).itemsize
    bodies.check_size(len(coords) * block_bytes, ctx.max_request_bytes, "specificblocks")
    return await _stream(ctx, config, scale, coords, payload, fill_missing=False)


async def _stream(
    ctx: InstanceContext,
    config: ImageConfig,
    scale: int,
    coords: list[tuple[int, int, int]],
    payload: str,
    *,
    fill_missing: bool,
) -> Response:
    def run() -> bytes:
        view = open_instance(ctx).view
        records = block_stream.block_payloads(
            view, config.layout(scale), coords, payload, fill_missing=fill_missing
        )
        return block_stream.encode_stream(records)

    return Response(await run_in_threadpool(run), media_type=OCTET)


async def get_blocks(request: Request, ctx: InstanceContext) -> Response:
    """``nblocks`` uncompressed blocks along x from block ``x_y_z``, concatenated, no headers."""
    config = config_of(ctx)
    box, count = _span(request, config)
    scale = scale_param(request, config)
    check_box(box, config, ctx.max_request_bytes, "blocks")
    volume = await run_in_threadpool(lambda: open_instance(ctx).read(box, scale))
    bz, by, bx = config.block_shape
    # (bz, by, n*bx) -> n blocks one after another, each C order
    blocks = volume.reshape(bz, by, count, bx).transpose(2, 0, 1, 3)
    return Response(volume_bytes(blocks), media_type=OCTET)


async def post_blocks(request: Request, ctx: InstanceContext) -> Response:
    """Write ``nblocks`` uncompressed blocks along x from block ``x_y_z`` (concatenated)."""
    config = config_of(ctx)
    box, count = _span(request, config)
    if scale_param(request, config) != 0:
        raise InvalidRequest("scale: writes go to scale 0; pyramid levels are derived from it")
    data = await read_voxels(request, ctx, box.size, config)
    bz, by, bx = config.block_shape
    array = data.reshape(count, bz, by, bx).transpose(1, 2, 0, 3).reshape(box.shape)
    await run_in_threadpool(lambda: open_instance(ctx).write(box.start, array))
    return Response(b"")


def _span(request: Request, config: ImageConfig) -> tuple[Box, int]:
    start, count = parse_block_span(request.path_params["offset"], request.path_params["nblocks"])
    bz, by, bx = config.block_shape
    origin = (start[0] * bz, start[1] * by, start[2] * bx)
    return Box.from_shape((bz, by, count * bx), origin), count
