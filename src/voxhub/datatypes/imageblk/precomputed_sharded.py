"""An image instance as a *sharded* neuroglancer precomputed volume
(``neuroglancer_uint64_sharded_v1``), computed from the stored blocks.

The geometry is the unsharded view's (:mod:`.precomputed`: one chunk = one stored block,
bounds on the block grid, scale keys ``x_y_z``). Each scale gets its own sharding spec
(:func:`~voxhub.codecs.sharded.spec.choose_spec`): identity hash, so a shard is an aligned
box of the chunk grid whose blocks are read with one ``get_many``, and built without
looking at any other block: 512 blocks (8³) where chunks are small (labels), fewer where
they are large (raw voxels: 128 64³ uint8 blocks), so that a shard is about 32 MiB.
Chunk data is ``raw``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.blocks.digest import feed_stored
from voxhub.blocks.pool import parallel_map
from voxhub.codecs.sharded import (
    ShardingSpec,
    choose_spec,
    compressed_morton,
    morton_bits,
    morton_positions,
    shard_layout,
    shard_order,
)
from voxhub.codecs.sharded.spec import PRESHIFT_BITS, SHARD_CHUNK_BITS
from voxhub.codecs.sharded.writer import Piece
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.precomputed import grid_bounds, volume_info
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader

_LITTLE_ENDIAN = {"uint8": "<u1", "uint16": "<u2", "uint32": "<u4", "uint64": "<u8"}


@dataclass(frozen=True)
class ScaleSharding:
    """How one scale's chunk grid is cut into shards."""

    origin: Vec3  # block coordinate (z, y, x) of grid position [0, 0, 0]
    grid: tuple[int, int, int]  # chunks per axis, [x, y, z]
    bits: tuple[int, int, int]
    spec: ShardingSpec

    @property
    def id_bits(self) -> int:
        return sum(self.bits)

    def shards(self) -> range:
        """Every shard that can hold a chunk of the grid."""
        last = int(self.spec.locate(np.array([(1 << self.id_bits) - 1], np.uint64))[0][0])
        return range(last + 1)

    def shard_blocks(
        self, shard: int, only: Sequence[int] | None = None
    ) -> tuple[np.ndarray, list[Vec3]]:
        """The chunk ids of ``shard`` inside the grid (those in ``only`` if given: e.g. the
        blocks an export found stored), in their order in the shard file, and the block
        coordinates ``(z, y, x)`` they name."""
        span = self.spec.shard_ids(shard, self.id_bits)
        ids = np.arange(span.start, span.stop, dtype=np.uint64)
        if only is not None:
            ids = ids[np.isin(ids, np.asarray(only, np.uint64))]
        pos = morton_positions(ids, self.bits)
        inside = (pos < np.array(self.grid)).all(axis=1)
        ids, pos = ids[inside], pos[inside]
        order = shard_order(self.spec, ids)
        ids, pos = ids[order], pos[order]
        oz, oy, ox = self.origin
        coords = [(oz + z, oy + y, ox + x) for x, y, z in pos.tolist()]
        return ids, coords

    def chunk_id(self, coord: Vec3) -> int:
        """The chunk id of the block at ``coord``."""
        rel = [coord[2] - self.origin[2], coord[1] - self.origin[1], coord[0] - self.origin[0]]
        return int(compressed_morton(np.array([rel]), self.bits)[0])


#: the size shards aim at: a server's view cache (256 MiB by default) keeps several, and
#: an export holds one per task in memory; 512 64³ blocks of labels or 128 of uint8.
TARGET_SHARD_BYTES = 32 << 20


def chunks_per_shard_bits(chunk_bytes: int) -> int:
    """log2 of the chunks a shard holds when each is about ``chunk_bytes``: as many as
    fit :data:`TARGET_SHARD_BYTES`, between 2**PRESHIFT_BITS and 2**SHARD_CHUNK_BITS."""
    fit = max(1, TARGET_SHARD_BYTES // max(1, chunk_bytes)).bit_length() - 1
    return min(SHARD_CHUNK_BITS, max(PRESHIFT_BITS, fit))


def scale_sharding(
    config: ImageConfig, extents: Box | None, *, chunk_bytes: int | None = None
) -> ScaleSharding:
    """The sharding of a scale covering ``extents`` (rounded out to the block grid) whose
    chunks are about ``chunk_bytes`` each (default: a raw block's bytes)."""
    bounds = grid_bounds(config, extents)
    shape = config.block_shape
    origin = (
        bounds.start[0] // shape[0],
        bounds.start[1] // shape[1],
        bounds.start[2] // shape[2],
    )
    gz, gy, gx = (bounds.shape[i] // shape[i] for i in range(3))
    bits = morton_bits((gx, gy, gz))
    if chunk_bytes is None:
        chunk_bytes = int(np.prod(shape)) * np.dtype(config.dtype).itemsize
    spec = choose_spec(sum(bits), chunk_bits=chunks_per_shard_bits(chunk_bytes))
    return ScaleSharding(origin, (gx, gy, gz), bits, spec)


def sharded_info(base: dict[str, Any], shardings: Sequence[ScaleSharding]) -> dict[str, Any]:
    """An unsharded view's ``info`` with each scale's ``sharding`` added."""
    scales = [
        {**scale, "sharding": s.spec.to_json()}
        for scale, s in zip(base["scales"], shardings, strict=True)
    ]
    return {**base, "scales": scales}


def image_sharded_info(config: ImageConfig, extents: Sequence[Box | None]) -> dict[str, Any]:
    """The ``info`` of an image's sharded view (raw chunks)."""
    base = volume_info(config, extents, kind="image", encoding="raw")
    return sharded_info(base, [scale_sharding(config, e) for e in extents])


def assemble(
    spec: ShardingSpec, ids: np.ndarray, pieces: Sequence[Piece | None]
) -> list[Piece] | None:
    """The parts of the shard file of chunks ``ids`` (in shard order) whose data are
    ``pieces`` (``None``: not stored, left out); ``None`` if no chunk is stored (no file:
    every chunk absent)."""
    present = [i for i, p in enumerate(pieces) if p is not None]
    if not present:
        return None
    data = [pieces[i] for i in present]
    sizes = np.fromiter(
        (p.nbytes if isinstance(p, memoryview) else len(p) for p in data if p is not None),
        np.uint64,
        len(data),
    )
    layout = shard_layout(spec, ids[present], sizes)
    return [layout.head, *(p for p in data if p is not None), layout.tail]


def shard_fingerprint(
    reader: VersionedReader,
    layout: BlockLayout,
    sharding: ScaleSharding,
    shard: int,
    also: Iterable[bytes] = (),
) -> str | None:
    """A hash of everything ``shard``'s file is made of: the sharding, each stored block's
    key and stored (compressed) value, and ``also`` (what else the chunks depend on: a
    labelmap's mapping); ``None`` if none of its blocks is stored. Hashing the stored
    values costs a fraction of decoding them, so an open node's shard can be named by
    this and built once for the several range requests a reader makes of it."""
    _, coords = sharding.shard_blocks(shard)
    keys = [layout.tkey(c) for c in coords]
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((sharding, layout.dtype.str, layout.background)).encode())

    def feed(values: Sequence[bytes | memoryview | None]) -> int:
        return feed_stored(digest, values, keys)

    if not reader.with_values(keys, feed) and layout.background == 0:
        return None
    for piece in also:
        digest.update(len(piece).to_bytes(8, "little") + piece)
    return digest.hexdigest()


def raw_shard(
    reader: VersionedReader,
    layout: BlockLayout,
    sharding: ScaleSharding,
    shard: int,
    only: Sequence[int] | None = None,
) -> list[Piece] | None:
    """The parts of ``shard``'s file: each stored block's voxels, little-endian, x fastest
    (the ``raw`` encoding); blocks never written are left out unless the background is not
    zero (then they are background blocks, as clients fill absent chunks with zeros).
    ``only``: the chunk ids known to be stored (the others are not read)."""
    ids, coords = sharding.shard_blocks(shard, only)
    little = np.dtype(_LITTLE_ENDIAN.get(layout.dtype.name, layout.dtype.str))
    values = reader.get_many([layout.tkey(c) for c in coords])

    def encoded(value: bytes | None) -> bytes | None:
        if value is None:
            if layout.background == 0:
                return None
            return layout.background_block().astype(little, copy=False).tobytes()
        block = layout.codec.decode(value, layout.block_shape, layout.dtype)
        return np.ascontiguousarray(block, dtype=little).tobytes()

    return assemble(sharding.spec, ids, parallel_map(encoded, values))
