"""A labelmap instance as a *sharded* neuroglancer precomputed segmentation: the
unsharded view's compressed_segmentation chunks (bodies through the mapping, or
supervoxels) in ``neuroglancer_uint64_sharded_v1`` shards
(:mod:`voxhub.datatypes.imageblk.precomputed_sharded` for the geometry and sharding).

A stored ``cseg`` block is ``zstd(compressed_segmentation)``, so a shard's chunk data is
its blocks' bare streams, one after the other, with only their tables mapped: all the
blocks of a shard are decompressed in one call, parsed together, their table entries
mapped in one pass (:func:`~voxhub.datatypes.labelmap.cseg_streams.map_checked`) and the
resulting word array is the shard's data section as it is. No voxel is decoded.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.codecs.cseg import SUB as CSEG_SUB
from voxhub.codecs.cseg import encode_google
from voxhub.codecs.cseg_mask import bare_stream, bare_streams_into
from voxhub.codecs.sharded import shard_layout
from voxhub.codecs.sharded.writer import Piece
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.precomputed_sharded import (
    ScaleSharding,
    assemble,
    scale_sharding,
    sharded_info,
)
from voxhub.datatypes.labelmap.cseg_streams import (
    CheckedTables,
    CsegStreams,
    check_many,
    map_checked,
)
from voxhub.datatypes.labelmap.keys import KEY_MAPPING, key_range
from voxhub.datatypes.labelmap.mapping import bodies_array, has_mapping, map_array
from voxhub.datatypes.labelmap.native_transcode import is_cseg_labels
from voxhub.datatypes.labelmap.precomputed import labels_info
from voxhub.errors import CodecError
from voxhub.geometry import Box
from voxhub.versioning.protocols import VersionedReader

#: compressed_segmentation of a segmentation takes about 1 bit per voxel (1-2 bit
#: indices in most 8³ sub-blocks): 1/64 of the raw uint64 voxels
CSEG_RATIO = 64


def labels_sharding(config: ImageConfig, extents: Box | None) -> ScaleSharding:
    """The sharding of a labelmap scale covering ``extents``."""
    raw = int(np.prod(config.block_shape)) * np.dtype(config.dtype).itemsize
    return scale_sharding(config, extents, chunk_bytes=raw // CSEG_RATIO)


def labels_sharded_info(config: ImageConfig, extents: Sequence[Box | None]) -> dict[str, Any]:
    """The ``info`` of a labelmap's sharded view (bodies and supervoxels alike)."""
    return sharded_info(labels_info(config, extents), [labels_sharding(config, e) for e in extents])


def cseg_shard(
    reader: VersionedReader,
    layout: BlockLayout,
    sharding: ScaleSharding,
    shard: int,
    *,
    supervoxels: bool,
    scratch: bytearray | mmap.mmap | None = None,
    reserve: int = 0,
    only: Sequence[int] | None = None,
) -> list[Piece] | None:
    """The parts of ``shard``'s file: compressed_segmentation chunks of the stored blocks
    (body ids unless ``supervoxels``); ``None`` if none of its blocks was written. With
    ``scratch`` (a buffer the caller reuses: no fresh pages per shard), unmapped streams
    are decompressed into it from byte ``reserve`` on and the data part is a view of it
    there, valid until the caller uses ``scratch`` again (and to be released before
    then): a caller reserving the shard index's bytes can put the whole file in
    ``scratch``. ``only``: the chunk ids known to be stored (the others are not read)."""
    if not is_cseg_labels(layout):
        return _decoded_shard(reader, layout, sharding, shard, supervoxels=supervoxels, only=only)
    ids, coords = sharding.shard_blocks(shard, only)
    keys = [layout.tkey(c) for c in coords]
    if supervoxels or not has_mapping(reader):
        # the streams as stored: decompressed, their frame sizes and headers checked
        # (they were checked whole when written); the cost is zstd's alone
        nsub = int(np.prod(layout.block_shape)) // CSEG_SUB**3
        if scratch is not None:
            return _into_scratch(reader, keys, nsub, ids, sharding, scratch, reserve)
        bares = reader.with_values(keys, partial(_bare_streams, nsub))
        present = [i for i, b in enumerate(bares) if b is not None]
        return assemble(sharding.spec, ids, bares) if present else None

    def streams(
        values: Sequence[bytes | memoryview | None],
    ) -> tuple[list[int], CsegStreams | CheckedTables | None]:
        stored = [(i, v) for i, v in enumerate(values) if v is not None]
        if not stored:
            return [], None
        return [i for i, _ in stored], check_many([v for _, v in stored], layout.block_shape)

    present, checked = reader.with_values(keys, streams)
    if checked is None:
        return None
    words, stream_words = map_checked(checked, partial(bodies_array, reader))
    sizes = (stream_words * 4).astype(np.uint64)
    data = np.ascontiguousarray(words).view(np.uint8).data
    shard_index = shard_layout(sharding.spec, ids[present], sizes)
    return [shard_index.head, data, shard_index.tail]


def _into_scratch(
    reader: VersionedReader,
    keys: list[bytes],
    nsub: int,
    ids: np.ndarray,
    sharding: ScaleSharding,
    scratch: bytearray | mmap.mmap,
    reserve: int,
) -> list[Piece] | None:
    """The unmapped shard, its streams decompressed one after the other into
    ``scratch`` from byte ``reserve`` on: the data part is a view of it."""

    def fill(values: Sequence[bytes | memoryview | None]) -> tuple[list[int], list[int]]:
        present = [i for i, v in enumerate(values) if v is not None]
        stored = [v for v in values if v is not None]
        return present, bare_streams_into(stored, nsub, scratch, at=reserve)

    present, sizes = reader.with_values(keys, fill)
    if not present:
        return None
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    total = sum(sizes)
    words = np.frombuffer(scratch, "<u4", total // 4, reserve) if total % 4 == 0 else None
    if (
        words is None
        or any(size % 4 or size < 4 * (1 + 2 * nsub) for size in sizes)
        or (words[starts // 4] != 1).any()
    ):
        raise CodecError("stored cseg block: not a single-channel compressed_segmentation stream")
    del words  # a view of scratch: the caller may grow it once done with the shard
    data = memoryview(scratch)[reserve : reserve + total]
    shard_index = shard_layout(sharding.spec, ids[present], np.array(sizes, np.uint64))
    return [shard_index.head, data, shard_index.tail]


def mapping_state(reader: VersionedReader) -> Iterator[bytes]:
    """Every supervoxel → body mapping key and value visible to ``reader`` (what a body
    view's chunks depend on besides the blocks; nothing for a never-merged segmentation)."""
    start, end = key_range(KEY_MAPPING)
    for key, value in reader.scan(start, end):
        yield key + (value or b"")


def _bare_streams(nsub: int, values: Sequence[bytes | memoryview | None]) -> list[bytes | None]:
    """The bare stream of each stored ``cseg`` value (``None`` stays ``None``), with the
    checks a reader relies on: whole words, room for the headers, one channel."""
    out: list[bytes | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        bare = bare_stream(value, nsub)
        if len(bare) % 4 or len(bare) < 4 * (1 + 2 * nsub) or bare[:4] != b"\x01\0\0\0":
            raise CodecError(
                "stored cseg block: not a single-channel compressed_segmentation stream"
            )
        out.append(bare)
    return out


def _decoded_shard(
    reader: VersionedReader,
    layout: BlockLayout,
    sharding: ScaleSharding,
    shard: int,
    *,
    supervoxels: bool,
    only: Sequence[int] | None = None,
) -> list[Piece] | None:
    """:func:`cseg_shard` for labels stored with another codec: decoded and encoded."""
    ids, coords = sharding.shard_blocks(shard, only)
    values = reader.get_many([layout.tkey(c) for c in coords])

    def chunk(value: bytes | None) -> bytes | None:
        if value is None:
            return None
        labels = layout.codec.decode(value, layout.block_shape, layout.dtype)
        return encode_google(labels if supervoxels else map_array(reader, labels))

    return assemble(sharding.spec, ids, [chunk(v) for v in values])
