"""HTTP routes of image instances (DVID's ``uint8blk`` family), relative to the instance.

The server mounts these under ``/api/node/{uuid}/{name}/`` after resolving the node and
the instance; each handler receives the request and the typed
:class:`~voxhub.datatypes.wire.context.InstanceContext` the dispatcher resolved (node,
instance, store access, byte limit, caller). Errors are raised as
voxhub exceptions; the server's one table turns them into statuses. Block streams and
block spans live in :mod:`.routes_blocks`, ndstore channels in :mod:`.routes_ndstore`.

Differences from DVID (each deliberate):

* ``POST raw`` accepts unaligned subvolumes (DVID: block-aligned only), and bodies
  compressed with ``?compression=lz4|gzip|zstd``; ``GET raw`` 3-D accepts the same.
* A request over the byte limit is 413 with the limit in the message, checked before any
  allocation or body read; a body of the wrong length is 400 naming the expected size.
* ``subvolblocks`` returns every block of the box, unwritten ones as encoded background
  (DVID leaves them out, which makes neuroglancer fail on empty chunks);
  ``specificblocks`` leaves missing blocks out, as DVID does.
* ``compression=jpeg`` transcodes blocks not stored as JPEG (DVID refuses).
* ``POST extents`` grows the recorded extents to include the posted box; it never hides
  written voxels (DVID replaces them).
* ``isotropic`` resamples by nearest neighbour (see :mod:`.sampling`).
* Pyramid level N is also served read-only as the instance ``<name>_N``, DVID's name for
  downres grayscale that neuroglancer reads (:mod:`.routes_levels`).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes.imageblk import sampling
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.dvid_info import (
    extend_extents,
    instance_info_json,
    metadata_json,
    parse_extents_body,
)
from voxhub.datatypes.imageblk.instance import ImageInstance
from voxhub.datatypes.imageblk.opening import open_image_instance
from voxhub.datatypes.imageblk.routes_resolution import resolution_route
from voxhub.datatypes.roi.instance import open_roi_reader
from voxhub.datatypes.roi.masking import Read, masked_reads
from voxhub.datatypes.wire import bodies, formats
from voxhub.datatypes.wire.api import (
    BLOCK_COMPRESSION,
    BLOCKS,
    BODY_COMPRESSION,
    POINT,
    ROI,
    SCALE,
    Api,
    json_api,
)
from voxhub.datatypes.wire.budget import admit
from voxhub.datatypes.wire.context import InstanceContext, instance_route
from voxhub.datatypes.wire.json_body import read_json
from voxhub.datatypes.wire.numbers import parse_int
from voxhub.datatypes.wire.offload import small_read
from voxhub.datatypes.wire.roi_mask import roi_name
from voxhub.datatypes.wire.url_geometry import (
    Dims,
    dvid_box,
    extents_json,
    parse_dims,
    parse_floats,
)
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box

#: reads up to this many voxel bytes run on the event loop when the store is fast
SMALL_READ_BYTES = 1 << 19
OCTET = "application/octet-stream"
_VOLUME_FORMATS = ("", "octet-stream", "nd", "raw")


# -- request context -----------------------------------------------------------------
def open_instance(ctx: InstanceContext) -> ImageInstance:
    """The instance a request addresses, at its node (blocking: call in a thread)."""
    return open_image_instance(
        ctx.access.catalog, ctx.node_uuid, ctx.instance, ctx.max_request_bytes
    )


def config_of(ctx: InstanceContext) -> ImageConfig:
    """The addressed instance's configuration."""
    return ImageConfig.from_json(ctx.config)


def scale_param(request: Request, config: ImageConfig) -> int:
    """``?scale=`` as a level of the instance's pyramid (0 if absent; 400 otherwise)."""
    text = request.query_params.get("scale", "0")
    return parse_int(text, "scale", 0, config.max_scale)


def _voxel_size(config: ImageConfig, scale: int) -> list[float]:
    factor = config.scale_factor(scale)
    return [v * f for v, f in zip(config.voxel_size, factor, strict=True)]


def check_box(box: Box, config: ImageConfig, limit: int, what: str) -> None:
    """413 if the voxels of ``box`` exceed ``limit`` bytes (before anything is allocated)."""
    bodies.check_size(box.size * np.dtype(config.dtype).itemsize, limit, what)


def volume_bytes(array: np.ndarray) -> memoryview:
    """C-order little-endian bytes of ``array`` without a copy when already so."""
    le = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return memoryview(le.reshape(-1).view(np.uint8))  # type: ignore[arg-type]


# -- info, metadata, extents ----------------------------------------------------------
async def get_info(request: Request, ctx: InstanceContext) -> Response:
    """Instance info: Base, Extended (BlockSize, VoxelSize, MinPoint, MaxPoint, ...), Extents."""

    def run() -> dict[str, Any]:
        instance = open_instance(ctx)
        return instance_info_json(ctx.instance, instance.config, instance.extents(0))

    return JSONResponse(await small_read(ctx, run))


async def get_metadata(request: Request, ctx: InstanceContext) -> Response:
    """DVID's nd-data JSON: Axes (label, resolution, units, size, offset) and Properties."""

    def run() -> dict[str, Any]:
        instance = open_instance(ctx)
        return metadata_json(instance.config, instance.extents(0))

    body = json.dumps(await small_read(ctx, run))
    return Response(body, media_type="application/vnd.dvid-nd-data+json")


async def get_extents(request: Request, ctx: InstanceContext) -> Response:
    """The extents at ``?scale=`` as ``{"MinPoint", "MaxPoint"}`` (x,y,z, inclusive), or
    ``null`` before anything is written (voxhub; DVID has only POST)."""
    config = config_of(ctx)
    scale = scale_param(request, config)
    box = await small_read(ctx, lambda: open_instance(ctx).extents(scale))
    return JSONResponse(extents_json(box))


async def post_pyramid(request: Request, ctx: InstanceContext) -> Response:
    """Recompute every pyramid level from scale 0 (voxhub; 409 on a committed node)."""

    await run_in_threadpool(lambda: open_instance(ctx).build_pyramid())
    return Response(b"")


async def post_extents(request: Request, ctx: InstanceContext) -> Response:
    """Set the extents from ``{"MinPoint": [x,y,z], "MaxPoint": [x,y,z]}`` (inclusive)."""
    box = await read_json(request, "extents body", parse_extents_body)
    await run_in_threadpool(lambda: extend_extents(open_instance(ctx).view, box))
    return Response(b"")


# -- raw and isotropic ------------------------------------------------------------------
async def get_raw(request: Request, ctx: InstanceContext) -> Response:
    """A subvolume: 3-D ``0_1_2`` octet-stream, or a 2-D ``xy|xz|yz`` png/jpg/tiff slice."""
    return await _get_volume(request, ctx, isotropic=False)


async def get_isotropic(request: Request, ctx: InstanceContext) -> Response:
    """As ``raw``, resampled so voxels are isotropic (the finest voxel size on every axis)."""
    return await _get_volume(request, ctx, isotropic=True)


async def _get_volume(request: Request, ctx: InstanceContext, *, isotropic: bool) -> Response:
    roi = roi_name(request)
    params = request.path_params
    dims = parse_dims(params["dims"])
    box = dvid_box(dims, params["size"], params["offset"])
    fmt_text = params.get("fmt")
    config = config_of(ctx)
    scale = scale_param(request, config)
    limit = ctx.max_request_bytes
    check_box(box, config, limit, "cutout")
    admit(request, box.size * np.dtype(config.dtype).itemsize, "cutout")
    volume_fmt = dims.is_3d and (fmt_text or "").lower() in _VOLUME_FORMATS
    image_fmt = None if volume_fmt else formats.parse_image_format(fmt_text)
    compression = bodies.parse_compression(request.query_params.get("compression"))
    if compression != "raw" and not volume_fmt:
        raise InvalidRequest("compression applies to 3-D octet-stream cutouts only")

    def run() -> np.ndarray:
        instance = open_instance(ctx)
        read: Read = functools.partial(instance.read, scale=scale)
        if roi is not None:  # voxels outside the named ROI read as 0
            mask = open_roi_reader(ctx.access, ctx.node_uuid, roi)
            read = masked_reads(read, mask, config.scale_factor(scale))
        if not isotropic:
            return read(box)
        voxel_size = _voxel_size(config, scale)
        source, _ = sampling.isotropic_sources(box, voxel_size)
        check_box(source, config, limit, "isotropic source box")
        return sampling.read_isotropic(read, box, voxel_size)

    small = box.size * np.dtype(config.dtype).itemsize <= SMALL_READ_BYTES and not isotropic
    if image_fmt is not None and small:
        # neuroglancer's image chunks (a 64³ JPEG, ≈0.7 ms to encode): encoded where the
        # read ran, sparing the thread-pool hop (≈0.3 ms) a second step would cost
        picture = await small_read(ctx, lambda: _encode_picture(run(), dims, image_fmt))
        return Response(picture, media_type=image_fmt.media_type)
    volume = await small_read(ctx, run, small=small)
    if image_fmt is None:
        data = volume_bytes(volume)
        if compression == "raw":
            return Response(data, media_type=OCTET)
        return Response(
            await run_in_threadpool(bodies.compress, bytes(data), compression), media_type=OCTET
        )
    return Response(
        await run_in_threadpool(_encode_picture, volume, dims, image_fmt),
        media_type=image_fmt.media_type,
    )


def _encode_picture(volume: np.ndarray, dims: Dims, fmt: formats.ImageFormat) -> bytes:
    if dims.is_3d:
        if fmt.name == "tiff":
            return formats.encode_tiff(volume)
        return formats.encode_image(formats.tall_image(volume), fmt)
    # rows are the second axis of dims, columns the first (xy: rows y; xz, yz: rows z)
    if dims.axes == (0, 1):
        return formats.encode_image(volume[0], fmt)
    if dims.axes == (0, 2):
        return formats.encode_image(volume[:, 0, :], fmt)
    return formats.encode_image(volume[:, :, 0], fmt)


async def post_raw(request: Request, ctx: InstanceContext) -> Response:
    """Write a 3-D ``0_1_2`` subvolume (any alignment; ``?compression=lz4|gzip|zstd`` bodies).

    ``?roi=<name>`` writes only the voxels inside that roi; the others keep their values."""
    roi = roi_name(request)
    params = request.path_params
    dims = parse_dims(params["dims"])
    if not dims.is_3d:
        raise InvalidRequest(f"dims {params['dims']!r}: only 3-D (0_1_2) subvolumes can be posted")
    box = dvid_box(dims, params["size"], params["offset"])
    config = config_of(ctx)
    if scale_param(request, config) != 0:
        raise InvalidRequest("scale: writes go to scale 0; pyramid levels are derived from it")
    data = await read_voxels(request, ctx, box.size, config)
    array = data.reshape(box.shape)

    def write() -> None:
        mask = None if roi is None else open_roi_reader(ctx.access, ctx.node_uuid, roi).mask(box)
        open_instance(ctx).write(box.start, array, mask=mask)

    await run_in_threadpool(write)
    return Response(b"")


async def read_voxels(
    request: Request, ctx: InstanceContext, count: int, config: ImageConfig
) -> np.ndarray:
    """The body as ``count`` voxels: size checked before reading, length checked exactly."""
    dtype = np.dtype(config.dtype).newbyteorder("<")
    expected = count * dtype.itemsize
    limit = ctx.max_request_bytes
    bodies.check_size(expected, limit, "write")
    admit(request, expected, "write")
    compression = bodies.parse_compression(request.query_params.get("compression"))
    declared = bodies.declared_length(request)
    if compression == "raw" and declared is not None:
        _check_length(declared, expected)
    if compression == "raw":
        data: bytes | bytearray = await bodies.read_exact(request, expected)
    else:
        body = await bodies.read_body(request, limit)
        data = await run_in_threadpool(bodies.decompress, body, compression, expected)
    return np.frombuffer(data, dtype=dtype).astype(config.dtype, copy=False)


def _check_length(declared: int, expected: int) -> None:
    if declared != expected:
        raise InvalidRequest(f"body has {declared} bytes; the box needs exactly {expected}")


# -- arbitrary planes ---------------------------------------------------------------------
async def get_arb(request: Request, ctx: InstanceContext) -> Response:
    """A plane of any orientation through three corners (x_y_z), ``res`` per pixel, as an image."""
    params = request.path_params
    corners = [
        np.asarray(parse_floats(params[name], 3, name)[::-1], dtype=np.float64)
        for name in ("top_left", "top_right", "bottom_left")
    ]
    try:
        res = float(params["res"])
    except ValueError:
        raise InvalidRequest(f"res {params['res']!r} must be a number") from None
    fmt = formats.parse_image_format(params.get("fmt"))
    config = config_of(ctx)
    scale = scale_param(request, config)
    limit = ctx.max_request_bytes
    rows, cols = sampling.plane_shape(corners[0], corners[1], corners[2], res)
    bodies.check_size(rows * cols * np.dtype(config.dtype).itemsize, limit, "arb image")
    voxel_size = _voxel_size(config, scale)

    def run() -> bytes:
        voxels = sampling.plane_voxels(corners[0], corners[1], corners[2], res, voxel_size)
        view = open_instance(ctx).view
        image = sampling.gather_voxels(view, config.layout(scale), voxels, limit)
        return formats.encode_image(image, fmt)

    return Response(await run_in_threadpool(run), media_type=fmt.media_type)


def image_routes() -> list[BaseRoute]:
    """The routes of one image instance, paths relative to ``/api/node/{uuid}/{name}``."""
    from voxhub.datatypes.imageblk.routes_blocks import (
        get_blocks,
        get_specificblocks,
        get_subvolblocks,
        post_blocks,
    )

    get, post = ["GET"], ["POST"]
    scaled = Api(query=(SCALE,))
    volume = Api(query=(SCALE, BODY_COMPRESSION, ROI), answers=(OCTET,))
    picture = Api(query=(SCALE, ROI), answers=tuple(formats.MEDIA_TYPES.values()))
    write = Api(query=(BODY_COMPRESSION,), body=(OCTET,), body_required=True, answers=())
    stream = Api(query=(SCALE, BLOCK_COMPRESSION), answers=(OCTET,))
    specific = Api(query=(SCALE, BLOCK_COMPRESSION, BLOCKS), answers=(OCTET,))
    extents = json_api({"type": "object", "properties": {"MinPoint": POINT, "MaxPoint": POINT}})
    return [
        instance_route("/info", get_info, methods=get),
        instance_route("/metadata", get_metadata, methods=get),
        instance_route("/extents", get_extents, methods=get, api=scaled),
        instance_route("/extents", post_extents, methods=post, api=extents),
        instance_route("/pyramid", post_pyramid, methods=post, api=Api(answers=())),
        resolution_route(),
        instance_route("/raw/{dims}/{size}/{offset}", get_raw, methods=get, api=volume),
        instance_route("/raw/{dims}/{size}/{offset}", post_raw, methods=post, api=write),
        instance_route("/raw/{dims}/{size}/{offset}/{fmt}", get_raw, methods=get, api=picture),
        instance_route("/isotropic/{dims}/{size}/{offset}", get_isotropic, methods=get, api=volume),
        instance_route(
            "/isotropic/{dims}/{size}/{offset}/{fmt}", get_isotropic, methods=get, api=picture
        ),
        instance_route("/subvolblocks/{size}/{offset}", get_subvolblocks, methods=get, api=stream),
        instance_route("/specificblocks", get_specificblocks, methods=get, api=specific),
        instance_route("/blocks/{offset}/{nblocks}", get_blocks, methods=get, api=volume),
        instance_route("/blocks/{offset}/{nblocks}", post_blocks, methods=post, api=write),
        instance_route(
            "/arb/{top_left}/{top_right}/{bottom_left}/{res}", get_arb, methods=get, api=picture
        ),
        instance_route(
            "/arb/{top_left}/{top_right}/{bottom_left}/{res}/{fmt}",
            get_arb,
            methods=get,
            api=picture,
        ),
    ]
