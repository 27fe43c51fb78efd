"""labelmap voxel routes: ``raw``, ``label``, ``labels``, ``blocks``, ``specificblocks``
and ``POST blocks`` (see :mod:`.routes` for the conventions and differences from DVID).

Block payload compressions (``GET blocks``/``specificblocks``, dvid.md §2.6-2.7): ``""``
(the ``blocks`` default) is a bare LZ4 block of the raw uint64 array, ``uncompressed``
the raw array, ``gzip`` its gzip, ``blocks`` DVID's native serialization gzipped (the
``specificblocks`` default). Unwritten blocks are left out of the stream.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
import zlib
from collections.abc import Sequence
from functools import partial

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxhub.blocks import BlockLayout
from voxhub.blocks.pool import parallel_map
from voxhub.codecs.cseg import encode_google
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.routes import SMALL_READ_BYTES
from voxhub.datatypes.labelmap.chunk_read import stored_google
from voxhub.datatypes.labelmap.mapping import bodies_array, bodies_of, has_mapping
from voxhub.datatypes.labelmap.native_block import decode_native, encode_native
from voxhub.datatypes.labelmap.native_transcode import is_cseg_labels, native_blocks
from voxhub.datatypes.labelmap.routes import (
    OCTET,
    config_of,
    open_labels,
    scale_of,
    supervoxels_flag,
)
from voxhub.datatypes.roi.instance import open_roi_reader
from voxhub.datatypes.roi.masking import mask_outside
from voxhub.datatypes.wire import block_stream, bodies
from voxhub.datatypes.wire.budget import admit
from voxhub.datatypes.wire.context import InstanceContext
from voxhub.datatypes.wire.gzipped import gzip_fast, gzip_fastest
from voxhub.datatypes.wire.json_body import read_json
from voxhub.datatypes.wire.offload import small_read
from voxhub.datatypes.wire.roi_mask import roi_name
from voxhub.datatypes.wire.url_geometry import (
    Dims,
    aligned_box,
    dvid_box,
    parse_block_list,
    parse_dims,
    parse_ints,
)
from voxhub.errors import CodecError, InvalidRequest
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader

_RAW_COMPRESSIONS = ("raw", "lz4", "gzip", "google", "googlegzip")
_BLOCK_PAYLOADS = {"": "lz4", "lz4": "lz4", "uncompressed": "raw", "gzip": "gzip"}
_BLOCK_PAYLOADS["blocks"] = "blocks"
_VOXEL = np.dtype("<u8")


def _le_bytes(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=_VOXEL).tobytes()


def _check_bytes(ctx: InstanceContext, voxels: int, what: str) -> None:
    bodies.check_size(voxels * _VOXEL.itemsize, ctx.max_request_bytes, what)


# -- raw ---------------------------------------------------------------------------------
def _raw_compression(value: str | None) -> str:
    name = (value or "raw").lower()
    name = "raw" if name == "uncompressed" else name
    if name not in _RAW_COMPRESSIONS:
        raise InvalidRequest(
            f"compression {value!r} is not one of lz4, gzip, google, googlegzip, uncompressed"
        )
    return name


def _volume_box(request: Request) -> Box:
    params = request.path_params
    dims: Dims = parse_dims(params["dims"])
    if not dims.is_3d:
        raise InvalidRequest(
            f"dims {params['dims']!r}: labelmap raw serves 3-D (0_1_2) subvolumes only"
        )
    return dvid_box(dims, params["size"], params["offset"])


async def get_raw(request: Request, ctx: InstanceContext) -> Response:
    """Labels of a 3-D subvolume: little-endian uint64, z-y-x (?supervoxels, ?scale).

    Body ids, or supervoxel ids with ?supervoxels=true;
    ?compression=lz4|gzip|google|googlegzip; ?roi=<name> reads 0 outside that roi."""
    roi = roi_name(request)
    box = _volume_box(request)
    config = config_of(ctx)
    scale = scale_of(request, config)
    supervoxels = supervoxels_flag(request)
    compression = _raw_compression(request.query_params.get("compression"))
    _check_bytes(ctx, box.size, "cutout")
    admit(request, box.size * _VOXEL.itemsize, "cutout")
    if compression in ("google", "googlegzip") and roi is None:  # neuroglancer's chunks
        fast = await small_read(ctx, lambda: _google_of_block(ctx, config, scale, box, supervoxels))
        if fast is not None:
            data = fast if compression == "google" else gzip_fast(fast)
            headers = {"Content-Encoding": "gzip"} if compression == "googlegzip" else None
            return Response(data, media_type=OCTET, headers=headers)

    def run() -> np.ndarray:
        volume = open_labels(ctx).read(box, scale, supervoxels=supervoxels)
        if roi is None:
            return volume
        mask = open_roi_reader(ctx.access, ctx.node_uuid, roi)
        return mask_outside(volume, mask, box, config.scale_factor(scale))

    small = box.size * _VOXEL.itemsize <= SMALL_READ_BYTES
    volume = await small_read(ctx, run, small=small)
    if compression == "raw":
        return Response(_le_bytes(volume), media_type=OCTET)
    if compression in ("lz4", "gzip"):
        data = await run_in_threadpool(bodies.compress, _le_bytes(volume), compression)
        return Response(data, media_type=OCTET)
    google = await run_in_threadpool(encode_google, volume)
    if compression == "google":
        return Response(google, media_type=OCTET)
    zipped = await run_in_threadpool(gzip_fast, google)
    return Response(zipped, media_type=OCTET, headers={"Content-Encoding": "gzip"})


def _google_of_block(
    ctx: InstanceContext, config: ImageConfig, scale: int, box: Box, supervoxels: bool
) -> bytes | None:
    """The stored block ``box`` is, as compressed_segmentation, mapped on its tables
    (:mod:`.chunk_read`); ``None`` when ``box`` is not one stored ``cseg`` block, or that
    block is malformed (then the decoding path reports it)."""
    try:
        view = open_labels(ctx).view
        return stored_google(view, config.layout(scale), box, supervoxels=supervoxels)
    except CodecError:
        return None


async def post_raw(request: Request, ctx: InstanceContext) -> Response:
    """Write supervoxel ids (little-endian uint64, z-y-x) into any 3-D subvolume.

    ?compression=lz4|gzip bodies; scale 0 only (the pyramid follows); ?roi=<name> writes
    only the voxels inside that roi (the others keep their values)."""
    roi = roi_name(request)
    box = _volume_box(request)
    if scale_of(request, config_of(ctx)) != 0:
        raise InvalidRequest("scale: writes go to scale 0; pyramid levels are derived from it")
    expected = box.size * _VOXEL.itemsize
    limit = ctx.max_request_bytes
    bodies.check_size(expected, limit, "write")
    admit(request, expected, "write")
    compression = bodies.parse_compression(request.query_params.get("compression"))
    if compression == "raw":
        data: bytes | bytearray = await bodies.read_exact(request, expected)
    else:
        body = await bodies.read_body(request, limit)
        data = await run_in_threadpool(bodies.decompress, body, compression, expected)
    array = np.frombuffer(data, dtype=_VOXEL).astype(np.uint64, copy=False).reshape(box.shape)

    def write() -> None:
        mask = None if roi is None else open_roi_reader(ctx.access, ctx.node_uuid, roi).mask(box)
        open_labels(ctx).write(box.start, array, mask=mask)

    await run_in_threadpool(write)
    return Response(b"")


# -- label, labels ------------------------------------------------------------------------
def _point(text: str) -> Vec3:
    x, y, z = parse_ints(text, 3, "point")
    return (z, y, x)


async def get_label(request: Request, ctx: InstanceContext) -> Response:
    """``{"Label": N}`` at voxel x_y_z (0 outside the data); ?supervoxels=, ?scale=."""
    z, y, x = _point(request.path_params["point"])
    scale = scale_of(request, config_of(ctx))
    supervoxels = supervoxels_flag(request)

    def run() -> int:
        box = Box((z, y, x), (z + 1, y + 1, x + 1))
        return int(open_labels(ctx).read(box, scale, supervoxels=supervoxels)[0, 0, 0])

    return JSONResponse({"Label": await small_read(ctx, run)})


def _points(value: object) -> np.ndarray:
    if not isinstance(value, list):
        raise InvalidRequest("labels body must be a JSON list of [x, y, z] points")
    for p in value:
        if (
            not isinstance(p, list)
            or len(p) != 3
            or any(isinstance(v, bool) or not isinstance(v, int) for v in p)
        ):
            raise InvalidRequest(f"labels: point {reprlib.repr(p)} is not three integers [x, y, z]")
        if any(not -(2**62) <= v < 2**62 for v in p):
            raise InvalidRequest(f"labels: point {reprlib.repr(p)} is out of range")
    zyx = np.array([[p[2], p[1], p[0]] for p in value], dtype=np.int64).reshape(-1, 3)
    return zyx


async def get_labels(request: Request, ctx: InstanceContext) -> Response:
    """The labels ``[l0, ...]`` at the points ``[[x,y,z], ...]`` of the GET body.

    ?supervoxels=, ?scale=, ?hash=md5 hex of the body."""
    config = config_of(ctx)
    scale = scale_of(request, config)
    supervoxels = supervoxels_flag(request)
    expected_hash = request.query_params.get("hash")

    def check_hash(raw: bytes) -> None:
        if expected_hash is not None and hashlib.md5(raw).hexdigest() != expected_hash.lower():
            raise InvalidRequest(f"labels body does not match hash {expected_hash!r}")

    block = np.array(config.block_shape, dtype=np.int64)

    def grouped(value: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # in the thread pool with the parse when the body is large (200k points: ~0.1 s)
        points = _points(value)
        unique, which = np.unique(points // block, axis=0, return_inverse=True)
        return points, unique, which

    points, unique, which = await read_json(request, "labels body", grouped, check=check_hash)
    _check_bytes(ctx, len(unique) * int(np.prod(block)), "labels")

    def run() -> bytes:
        instance = open_labels(ctx)
        out = np.zeros(len(points), np.uint64)
        for i, c in enumerate(unique.tolist()):
            origin = (c[0] * int(block[0]), c[1] * int(block[1]), c[2] * int(block[2]))
            data = instance.read(
                Box.from_shape(config.block_shape, origin), scale, supervoxels=True
            )
            mine = np.flatnonzero(which.reshape(-1) == i)
            local = points[mine] - np.array(origin)
            out[mine] = data[local[:, 0], local[:, 1], local[:, 2]]
        values = [int(v) for v in out.tolist()]
        return json.dumps(values if supervoxels else instance.mapping(values)).encode()

    return Response(await run_in_threadpool(run), media_type="application/json")


# -- block streams ---------------------------------------------------------------------------
def _payload(value: str | None, default: str) -> str:
    name = default if value is None else value.lower()
    payload = _BLOCK_PAYLOADS.get(name)
    if payload is None:
        raise InvalidRequest(
            f"compression {value!r} is not one of '' (lz4), uncompressed, gzip, blocks"
        )
    return payload


def _encode_payload(block: np.ndarray, payload: str) -> bytes:
    if payload == "blocks":
        return gzip_fastest(encode_native(block))
    return bodies.compress(_le_bytes(block), payload)


def _map_blocks(reader: VersionedReader, blocks: list[np.ndarray]) -> list[np.ndarray]:
    """Every block with supervoxels replaced by bodies, with one mapping lookup in all."""
    if not blocks:
        return blocks
    uniques = [np.unique(b) for b in blocks]
    table = bodies_of(reader, np.unique(np.concatenate(uniques)).tolist())
    out = []
    for block, unique in zip(blocks, uniques, strict=True):
        if all(table[int(u)] == int(u) for u in unique.tolist()):
            out.append(block)
            continue
        mapped = np.array([table[int(u)] for u in unique.tolist()], dtype=np.uint64)
        out.append(mapped[np.searchsorted(unique, block)])
    return out


async def _stream(
    request: Request,
    ctx: InstanceContext,
    config: ImageConfig,
    scale: int,
    coords: Sequence[Vec3],
    payload: str,
) -> Response:
    supervoxels = supervoxels_flag(request)

    def run() -> bytes:
        view = open_labels(ctx).view
        layout = config.layout(scale)
        values = view.get_many([layout.tkey(c) for c in coords])
        present = [(c, v) for c, v in zip(coords, values, strict=True) if v is not None]
        data = None
        if payload == "blocks" and is_cseg_labels(layout):
            data = _native_from_cseg(view, layout, [v for _, v in present], supervoxels)
        if data is None:
            blocks = parallel_map(
                lambda item: layout.codec.decode(item[1], layout.block_shape, layout.dtype),
                present,
            )
            if not supervoxels:
                blocks = _map_blocks(view, blocks)
            data = parallel_map(lambda b: _encode_payload(b, payload), blocks)
        return block_stream.encode_stream([(c, d) for (c, _), d in zip(present, data, strict=True)])

    # one block (≈0.5 ms) costs less than the hop to the thread pool and back
    return Response(await small_read(ctx, run, small=len(coords) <= 1), media_type=OCTET)


def _native_from_cseg(
    view: VersionedReader,
    layout: BlockLayout,
    values: list[bytes | memoryview],
    supervoxels: bool,
) -> list[bytes] | None:
    """Gzipped native blocks converted from their stored ``cseg`` form (no voxel decode,
    see :mod:`.native_transcode`); ``None`` when a
    stored block is malformed (the decoding path then reports it)."""
    mapping = None if supervoxels or not has_mapping(view) else partial(bodies_array, view)
    try:
        natives = native_blocks(values, layout.block_shape, mapping).views()
    except CodecError:
        return None
    # one thread converts (its many short numpy calls would convoy on the GIL with a
    # second, measured: no faster in two halves) and gzips too: ISA-L releases the GIL,
    # but the pool's hand-offs took 64 blocks from 0.9 to 1.6 ms, and one hand-off of
    # half of them saved no wall time for 5-8% more CPU
    return [gzip_fastest(native) for native in natives]


async def get_blocks(request: Request, ctx: InstanceContext) -> Response:
    """The block stream of a block-aligned box (unset blocks left out).

    ?compression= "" (lz4, default), uncompressed, gzip, blocks; ?supervoxels=, ?scale=."""
    params = request.path_params
    config = config_of(ctx)
    box = aligned_box(params["size"], params["offset"], config.block_shape, "blocks")
    scale = scale_of(request, config)
    payload = _payload(request.query_params.get("compression"), "")
    _check_bytes(ctx, box.size, "blocks")
    coords = list(config.layout(scale).grid.blocks_in(box))
    return await _stream(request, ctx, config, scale, coords, payload)


async def get_specificblocks(request: Request, ctx: InstanceContext) -> Response:
    """The block stream of the blocks ?blocks=x,y,z,... (unset ones left out).

    ?compression= as for blocks; the default here is blocks (gzipped native)."""
    config = config_of(ctx)
    coords = list(dict.fromkeys(parse_block_list(request.query_params.get("blocks", ""))))
    scale = scale_of(request, config)
    payload = _payload(request.query_params.get("compression"), "blocks")
    _check_bytes(ctx, len(coords) * int(np.prod(config.block_shape)), "specificblocks")
    return await _stream(request, ctx, config, scale, coords, payload)


def _gunzip(payload: memoryview, bound: int, where: Vec3) -> bytes:
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib
    try:
        data = inflater.decompress(payload, bound)
    except zlib.error as e:
        raise InvalidRequest(f"block {where[::-1]}: payload is not gzip data: {e}") from None
    if inflater.unconsumed_tail:
        raise InvalidRequest(f"block {where[::-1]}: payload inflates past {bound} bytes")
    return data


async def post_blocks(request: Request, ctx: InstanceContext) -> Response:
    """Write a block stream of gzipped native blocks (supervoxel ids).

    At scale 0 the label index, pyramid, max label and extents follow. At ``?scale=N``
    the blocks replace that level's blocks as posted (a pipeline's own downres; as in
    DVID, nothing else follows), exactly as ``ingest-supervoxels?scale=N``."""
    config = config_of(ctx)
    compression = request.query_params.get("compression", "blocks").lower()
    if compression not in ("", "blocks"):
        raise InvalidRequest(f"POST blocks takes compression=blocks only, got {compression!r}")
    if scale_of(request, config) != 0:
        from voxhub.datatypes.labelmap.routes_index import post_ingest_supervoxels

        return await post_ingest_supervoxels(request, ctx)
    body = await bodies.read_body(request, ctx.max_request_bytes)
    bs = config.block_shape
    voxels = int(np.prod(bs))
    bound = 16 * voxels + 64  # larger than any native block of this shape

    records = list(block_stream.iter_stream(body))
    # Decoded blocks are held before writing: bound them by the request limit too.
    _check_bytes(ctx, len(records) * voxels, "decoded blocks")
    admit(request, len(records) * voxels * _VOXEL.itemsize, "decoded blocks")

    def run() -> None:
        instance = open_labels(ctx)
        instance.view.check_writable()  # even an empty stream is refused on a committed node
        # Decode every record before writing any, so a malformed stream changes nothing
        # (the first bad record in the stream is the one reported), on the block pool
        # (inflating and most of the decoding release the GIL). A coordinate given twice
        # keeps its last block, as writes one after another would.
        decoded = parallel_map(lambda r: decode_native(_gunzip(r[1], bound, r[0]), bs), records)
        blocks = dict(zip((c for c, _ in records), decoded, strict=True))
        instance.write_blocks(blocks)  # one transaction: each pyramid parent updated once

    await run_in_threadpool(run)
    return Response(b"")
