"""Writing ``neuroglancer_uint64_sharded_v1`` shard files.

A shard file here is laid out as::

    shard index | chunk data, minishard by minishard, ids ascending | minishard indexes

The spec lets minishard indexes sit anywhere; putting them after the data makes every
chunk's offset depend on the sizes before it only, never on the (gzipped, so
variable-size) indexes, so the data can be streamed out as it is produced and the indexes
appended at the end. Chunk ids are sorted within each minishard (delta-encoded ids stay
non-negative, and readers may search them).
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxhub.codecs.sharded.spec import ShardingSpec
from voxhub.errors import InvalidRequest

#: gzip level of minishard indexes and gzip-encoded data: small integers compress well
#: at level 1 already.
GZIP_LEVEL = 1

Piece = bytes | memoryview


def shard_order(spec: ShardingSpec, ids: np.ndarray) -> np.ndarray:
    """The permutation of ``ids`` (chunk ids of one shard) into their order in the file:
    by minishard, then id."""
    ids = np.asarray(ids, np.uint64)
    _, minishard = spec.locate(ids)
    return np.lexsort((ids, minishard))


@dataclass(frozen=True)
class ShardLayout:
    """Everything of a shard file but its chunk data: ``head`` (the shard index), then
    the data (``sizes`` bytes per chunk, in file order), then ``tail`` (the minishard
    indexes)."""

    head: bytes
    sizes: np.ndarray
    tail: bytes

    @property
    def data_bytes(self) -> int:
        return int(self.sizes.sum())

    @property
    def total_bytes(self) -> int:
        return len(self.head) + self.data_bytes + len(self.tail)


def _nbytes(piece: Piece) -> int:
    return piece.nbytes if isinstance(piece, memoryview) else len(piece)


def _encode(spec_encoding: str, data: bytes) -> bytes:
    return gzip.compress(data, GZIP_LEVEL, mtime=0) if spec_encoding == "gzip" else data


def shard_layout(spec: ShardingSpec, ids: np.ndarray, sizes: np.ndarray) -> ShardLayout:
    """The index and minishard indexes of a shard whose chunks ``ids`` (in
    :func:`shard_order`, distinct, all of this one shard) have ``sizes`` bytes each."""
    ids = np.asarray(ids, np.uint64)
    sizes = np.asarray(sizes, np.uint64)
    if ids.shape != sizes.shape or ids.ndim != 1:
        raise InvalidRequest("a shard needs one size per chunk id")
    shard, minishard = spec.locate(ids)
    if len(ids) and (shard != shard[0]).any():
        raise InvalidRequest("the chunk ids given for one shard fall in several shards")
    order = np.lexsort((ids, minishard))
    if not np.array_equal(order, np.arange(len(ids))):
        raise InvalidRequest("chunk ids are not in shard order (minishard, then id)")
    if len(ids) > 1 and ((minishard[1:] == minishard[:-1]) & (ids[1:] == ids[:-1])).any():
        raise InvalidRequest("a chunk id is given twice for one shard")
    count = 1 << spec.minishard_bits
    bounds = np.searchsorted(minishard, np.arange(count + 1, dtype=np.uint64))
    # data offsets, after the shard index
    starts = np.concatenate((np.zeros(1, np.uint64), np.cumsum(sizes, dtype=np.uint64)))
    # every minishard's table at once, then one slice of it per minishard: rows are
    # the id deltas, each start relative to the end of the previous chunk (all 0 but the
    # first of a minishard) and the sizes
    first = np.zeros(len(ids), bool)
    first[bounds[:-1][bounds[:-1] < len(ids)]] = True
    rows = np.empty((3, len(ids)), "<u8")
    rows[0] = np.diff(ids, prepend=np.uint64(0))
    rows[0, first] = ids[first]
    rows[1] = np.where(first, starts[:-1], 0)
    rows[2] = sizes
    index = np.zeros((count, 2), "<u8")
    tail: list[bytes] = []
    at = int(starts[-1])
    for m in np.nonzero(np.diff(bounds))[0].tolist():
        lo, hi = int(bounds[m]), int(bounds[m + 1])
        encoded = _encode(spec.minishard_index_encoding, rows[:, lo:hi].tobytes())
        index[m] = (at, at + len(encoded))
        at += len(encoded)
        tail.append(encoded)
    return ShardLayout(index.tobytes(), sizes, b"".join(tail))


def encode_shard(spec: ShardingSpec, ids: np.ndarray, pieces: Sequence[Piece]) -> list[Piece]:
    """The parts of the shard file holding chunks ``ids`` with data ``pieces`` (any
    order; ``data_encoding`` is applied here), to be written one after the other."""
    ids = np.asarray(ids, np.uint64)
    if len(ids) != len(pieces):
        raise InvalidRequest(f"{len(ids)} chunk ids for {len(pieces)} chunk data pieces")
    order = shard_order(spec, ids)
    data: list[Piece] = [pieces[i] for i in order.tolist()]
    if spec.data_encoding == "gzip":
        data = [_encode("gzip", bytes(p)) for p in data]
    sizes = np.fromiter((_nbytes(p) for p in data), np.uint64, len(data))
    layout = shard_layout(spec, ids[order], sizes)
    return [layout.head, *data, layout.tail]


def shard_bytes(spec: ShardingSpec, ids: np.ndarray, pieces: Sequence[Piece]) -> bytes:
    """:func:`encode_shard` as one ``bytes``."""
    return b"".join(encode_shard(spec, ids, pieces))
