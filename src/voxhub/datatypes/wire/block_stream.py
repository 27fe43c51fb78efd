"""DVID's block stream (``subvolblocks``, ``specificblocks``) and block payload transcoding.

A stream is a concatenation of records, every integer little-endian::

    int32 bx, int32 by, int32 bz, int32 n, n bytes of payload

Block coordinates are ``x, y, z`` on the wire and ``(z, y, x)`` everywhere in voxhub.
Payload compressions (``?compression=``):

* absent or ``native``: the stored bytes as they are (the codec in ``Base.Compression``);
  a JPEG instance therefore serves its stored JPEGs untouched, as neuroglancer expects;
* ``jpeg`` (uint8 only): a grayscale JPEG ``x`` wide and ``y*z`` tall. DVID refuses this
  unless the blocks are stored as JPEG; voxhub transcodes;
* ``raw`` / ``uncompressed``: the block's voxels, C order, little-endian;
* ``lz4``, ``gzip``, ``zstd``: the block encoded by voxhub's codec of that name.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from voxhub.blocks import BlockLayout
from voxhub.blocks.pool import parallel_map
from voxhub.codecs import BlockCodec, JpegCodec, codec_from_json
from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedReader

_HEADER = struct.Struct("<iiii")
PAYLOADS = ("native", "jpeg", "raw", "lz4", "gzip", "zstd")


def parse_payload(value: str | None) -> str:
    """The canonical payload compression of a ``compression=`` query value."""
    name = (value or "native").lower()
    name = {"uncompressed": "raw", "jpg": "jpeg"}.get(name, name)
    if name not in PAYLOADS:
        raise InvalidRequest(
            f"compression {value!r} is not one of {', '.join(PAYLOADS)}, uncompressed"
        )
    return name


def _target_codec(payload: str, layout: BlockLayout) -> BlockCodec | None:
    """The codec to re-encode with, or ``None`` when stored bytes can be sent as they are."""
    if payload == "native" or payload == layout.codec.name:
        return None
    if payload == "jpeg":
        if layout.dtype.name != "uint8":
            raise InvalidRequest(
                f"compression 'jpeg' needs uint8 voxels, this volume holds {layout.dtype}"
            )
        target: BlockCodec = JpegCodec()
    else:
        target = codec_from_json(payload)
    # e.g. a block too tall for one JPEG: refused before any block is read (400)
    target.validate(layout.dtype.name, layout.block_shape)
    return target


def block_payloads(
    reader: VersionedReader,
    layout: BlockLayout,
    coords: Sequence[Vec3],
    payload: str,
    *,
    fill_missing: bool,
) -> list[tuple[Vec3, bytes]]:
    """``(coord, payload bytes)`` per block; missing blocks are background or left out."""
    target = _target_codec(payload, layout)
    values = reader.get_many([layout.tkey(c) for c in coords])

    def convert(i: int) -> bytes | None:
        stored = values[i]
        if stored is None:
            if not fill_missing:
                return None
            block = layout.background_block()
        elif target is None:
            return stored
        else:
            block = layout.codec.decode(stored, layout.block_shape, layout.dtype)
        return (target or layout.codec).encode(block)

    out = parallel_map(convert, range(len(coords)))
    return [(c, data) for c, data in zip(coords, out, strict=True) if data is not None]


def encode_stream(records: Sequence[tuple[Vec3, bytes]]) -> bytes:
    """The stream bytes of ``(coord (z, y, x), payload)`` records."""
    parts: list[bytes] = []
    for (z, y, x), data in records:
        parts.append(_HEADER.pack(x, y, z, len(data)))
        parts.append(data)
    return b"".join(parts)


def iter_stream(data: bytes | memoryview) -> Iterator[tuple[Vec3, memoryview]]:
    """The records of a stream as views into ``data`` (no copies), coordinates
    ``(z, y, x)``; InvalidRequest if truncated."""
    view = memoryview(data)
    pos, end = 0, len(view)
    while pos < end:
        if end - pos < _HEADER.size:
            raise InvalidRequest(f"block stream truncated in a header at byte {pos}")
        x, y, z, n = _HEADER.unpack_from(view, pos)
        pos += _HEADER.size
        if n < 0 or pos + n > end:
            raise InvalidRequest(f"block stream record at byte {pos} claims {n} bytes")
        yield (z, y, x), view[pos : pos + n]
        pos += n


def decode_stream(data: bytes) -> list[tuple[Vec3, bytes]]:
    """The records of a stream, coordinates ``(z, y, x)``; InvalidRequest if truncated."""
    return [(coord, bytes(payload)) for coord, payload in iter_stream(data)]
