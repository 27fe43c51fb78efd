"""Zarr v3 ``sharding_indexed`` shards: encoded inner chunks followed by their index.

A shard holds the inner chunks of a fixed grid (``chunks per shard`` along each axis) in
C order. After the chunks comes the index, one ``(offset, nbytes)`` pair of little-endian
uint64 per inner chunk in C order (``2**64 - 1`` twice for a chunk that is absent, i.e.
all fill value), then the CRC-32C of the index bytes as a little-endian uint32 (the
``crc32c`` index codec, after ``bytes``). The index sits at the end
(``index_location: end``), so readers fetch it with a suffix range, ``bytes=-N``.

The checksum matters over HTTP: a server that ignores ``Range`` hands back the whole
shard, and zarr-python catches the wrong bytes only through it (interop reference §2.3).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxhub.errors import CodecError
from voxhub.optional import require

#: offset and nbytes of an absent inner chunk
ABSENT = 2**64 - 1
_INDEX_DTYPE = np.dtype("<u8")
CHECKSUM_BYTES = 4


def crc32c(data: bytes | memoryview) -> int:
    """CRC-32C (Castagnoli) of ``data``, as zarr's ``crc32c`` codec computes it."""
    google_crc32c = require("google_crc32c", "the crc32c index of Zarr shards")
    value: int = google_crc32c.value(bytes(data))
    return value


def index_nbytes(chunks: int) -> int:
    """The size of the index (with its checksum) of a shard of ``chunks`` inner chunks."""
    return chunks * 16 + CHECKSUM_BYTES


def encode_shard(chunks: Sequence[bytes | None]) -> bytes | None:
    """The shard holding the encoded inner ``chunks`` (C order of the shard's chunk grid;
    ``None`` for an absent chunk); ``None`` when every chunk is absent (no shard at all)."""
    if all(c is None for c in chunks):
        return None
    index = np.full((len(chunks), 2), ABSENT, _INDEX_DTYPE)
    offset = 0
    for i, chunk in enumerate(chunks):
        if chunk is not None:
            index[i] = (offset, len(chunk))
            offset += len(chunk)
    table = index.tobytes()
    checksum = crc32c(table).to_bytes(CHECKSUM_BYTES, "little")
    return b"".join([*(c for c in chunks if c is not None), table, checksum])


def empty_shard(chunks: int) -> bytes:
    """A shard of ``chunks`` inner chunks, all absent: its index alone."""
    table = np.full((chunks, 2), ABSENT, _INDEX_DTYPE).tobytes()
    return table + crc32c(table).to_bytes(CHECKSUM_BYTES, "little")


def decode_shard(shard: bytes, chunks: int) -> list[bytes | None]:
    """The inner chunks of ``shard`` (of ``chunks`` inner chunks), ``None`` where absent:
    :class:`~voxhub.errors.CodecError` for a short shard, a checksum that does not match
    or an index entry pointing outside the chunk data."""
    size = index_nbytes(chunks)
    if len(shard) < size:
        raise CodecError(f"zarr shard of {len(shard)} bytes is shorter than its index ({size})")
    table = memoryview(shard)[len(shard) - size : len(shard) - CHECKSUM_BYTES]
    stored = int.from_bytes(shard[len(shard) - CHECKSUM_BYTES :], "little")
    if crc32c(table) != stored:
        raise CodecError("zarr shard index checksum does not match its contents")
    index = np.frombuffer(table, _INDEX_DTYPE).reshape(chunks, 2)
    end = len(shard) - size
    out: list[bytes | None] = []
    for offset, nbytes in index.tolist():
        if offset == ABSENT and nbytes == ABSENT:
            out.append(None)
        elif offset + nbytes > end:
            raise CodecError(f"zarr shard index entry {offset}+{nbytes} is past the data ({end})")
        else:
            out.append(shard[offset : offset + nbytes])
    return out
