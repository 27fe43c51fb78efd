"""Reading ``neuroglancer_uint64_sharded_v1`` shard files (any layout the spec allows,
either hash, raw or gzip encodings), from whole files or through byte-range reads.

Every offset read from a file is checked against the file before it is used: a
malformed or truncated shard raises :class:`~voxhub.errors.CodecError`, never an
``IndexError`` or a huge allocation.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from voxhub.codecs.sharded.spec import ShardingSpec
from voxhub.errors import CodecError

#: ``read(start, stop)``: bytes ``[start, stop)`` of one shard file; ``None`` if the file
#: does not exist (every chunk of the shard is absent); fewer bytes if the file is shorter.
RangeReader = Callable[[int, int], bytes | None]

#: the largest minishard index (decoded) accepted: 2**24 chunks
MAX_MINISHARD_BYTES = 24 << 24


def _err(message: str) -> CodecError:
    return CodecError(f"sharded precomputed: {message}")


def _decode(encoding: str, data: bytes, what: str, limit: int) -> bytes:
    if encoding == "raw":
        return data
    try:
        out = zlib.decompressobj(wbits=31)  # gzip framing
        decoded = out.decompress(data, limit + 1)
    except zlib.error as e:
        raise _err(f"{what} is not valid gzip: {e}") from None
    if len(decoded) > limit:
        raise _err(f"{what} decodes to over {limit} bytes")
    return decoded


@dataclass(frozen=True)
class MinishardIndex:
    """The chunks of one minishard: ids, absolute start offsets in the shard file and
    sizes (uint64 arrays of one length)."""

    ids: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray

    def find(self, chunk_id: int) -> tuple[int, int] | None:
        """``(start, stop)`` of ``chunk_id``'s data in the file, if listed here."""
        hits = np.nonzero(self.ids == np.uint64(chunk_id))[0]
        if not len(hits):
            return None
        i = int(hits[0])
        return int(self.starts[i]), int(self.starts[i] + self.sizes[i])


def parse_shard_index(spec: ShardingSpec, data: bytes) -> np.ndarray:
    """The shard index (``[2**minishard_bits, 2]`` uint64: start, stop of each minishard
    index, absolute in the file) from the first :attr:`~ShardingSpec.index_bytes`."""
    if len(data) != spec.index_bytes:
        raise _err(f"a shard index is {spec.index_bytes} bytes, got {len(data)}")
    index = np.frombuffer(data, "<u8").reshape(-1, 2).astype(np.uint64)
    if (index[:, 0] > index[:, 1]).any():
        raise _err("a minishard index ends before it starts")
    if (index[:, 1] > np.uint64(2**62)).any():
        raise _err("a minishard index lies beyond any file size")
    return index + np.uint64(spec.index_bytes)


def parse_minishard_index(spec: ShardingSpec, data: bytes, file_size: int | None) -> MinishardIndex:
    """Decode one minishard index (its ``minishard_index_encoding`` bytes); with
    ``file_size``, every chunk must lie inside the file."""
    raw = _decode(spec.minishard_index_encoding, data, "a minishard index", MAX_MINISHARD_BYTES)
    if len(raw) % 24:
        raise _err(f"a minishard index is 24 bytes per chunk, got {len(raw)} bytes")
    table = np.frombuffer(raw, "<u8").reshape(3, -1)
    limit = np.uint64(2**62)  # far below 2**64: sums of checked values cannot wrap
    if (table[1:] > limit).any():
        raise _err("a minishard index holds offsets or sizes beyond any file")
    sizes = table[2].astype(np.uint64)
    ids = np.cumsum(table[0], dtype=np.uint64)  # ids may use all 64 bits: wrapping is exact
    gaps = table[1].astype(np.uint64)
    ends_before = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.uint64)
    starts = np.cumsum(gaps, dtype=np.uint64) + ends_before + np.uint64(spec.index_bytes)
    if len(starts) and int(starts.max()) > 2**63:
        raise _err("a minishard index places a chunk beyond any file")
    if file_size is not None and len(starts) and int((starts + sizes).max()) > file_size:
        raise _err("a minishard index places a chunk past the end of the shard file")
    return MinishardIndex(ids, starts, sizes)


def read_chunk(spec: ShardingSpec, read: RangeReader, chunk_id: int) -> bytes | None:
    """The (decoded) data of ``chunk_id`` from the shard file ``read`` reads (the shard
    :meth:`ShardingSpec.locate` names for it), or ``None`` if it is not stored."""
    _, minishard = spec.locate(np.array([chunk_id], np.uint64))
    head = read(0, spec.index_bytes)
    if head is None:
        return None
    start, stop = (int(v) for v in parse_shard_index(spec, head)[int(minishard[0])])
    if start == stop:
        return None
    found = parse_minishard_index(spec, _exact(read, start, stop), None).find(chunk_id)
    if found is None:
        return None
    return _decode(spec.data_encoding, _exact(read, *found), "chunk data", 2**40)


def _exact(read: RangeReader, start: int, stop: int) -> bytes:
    data = read(start, stop)
    if data is None or len(data) != stop - start:
        raise _err(f"the shard file ends before byte {stop} its index points to")
    return data


def shard_chunks(spec: ShardingSpec, data: bytes) -> Iterator[tuple[int, bytes]]:
    """Every ``(chunk id, decoded data)`` of a whole shard file, minishard by minishard."""
    index = parse_shard_index(spec, data[: spec.index_bytes])
    for start, stop in index.tolist():
        if start == stop:
            continue
        if stop > len(data):
            raise _err("a minishard index lies past the end of the shard file")
        minishard = parse_minishard_index(spec, data[start:stop], len(data))
        for cid, begin, size in zip(
            minishard.ids.tolist(), minishard.starts.tolist(), minishard.sizes.tolist(), strict=True
        ):
            yield cid, _decode(spec.data_encoding, data[begin : begin + size], "chunk data", 2**40)
