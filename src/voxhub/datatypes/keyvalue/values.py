"""What is stored under a key's value tkey: the value itself, or a manifest of chunks.

* ``0x00 | bytes``: the whole value inline (an empty value is the single byte 0x00;
  the versioned layer reserves empty stored values for tombstones). A value shorter
  than the instance's chunk size is stored this way, in one key.
* ``0x01 | upload (16) | size (8) | chunk size (4)``: a value of ``size`` bytes stored
  in ``ceil(size / chunk size)`` chunks under the upload's chunk tkeys
  (:func:`voxhub.datatypes.keyvalue.keys.chunk_tkey`), each ``chunk size`` bytes but
  the last.

So no stored value is larger than the chunk size (an inline one is shorter by at least
its header byte), and a manifest names one upload, whose chunks no other manifest uses.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from voxhub.errors import CodecError

INLINE = 0x00
MANIFEST = 0x01
_MANIFEST = struct.Struct(">B16sQI")


@dataclass(frozen=True)
class Manifest:
    """Where a chunked value's bytes are."""

    upload: bytes
    size: int
    chunk_bytes: int

    @property
    def chunks(self) -> int:
        return -(-self.size // self.chunk_bytes)

    def chunk_span(self, index: int) -> tuple[int, int]:
        """The byte range ``[start, stop)`` chunk ``index`` holds."""
        start = index * self.chunk_bytes
        return start, min(start + self.chunk_bytes, self.size)


@dataclass(frozen=True)
class Stored:
    """A decoded value record: the inline bytes, or the manifest of the chunks."""

    inline: bytes | memoryview | None = None
    manifest: Manifest | None = None

    @property
    def size(self) -> int:
        if self.manifest is not None:
            return self.manifest.size
        assert self.inline is not None
        return len(self.inline)


def encode_inline(value: bytes | bytearray | memoryview) -> bytes:
    return b"".join((b"\x00", value))  # one copy (bytes(value) + ... would make two)


def encode_manifest(manifest: Manifest) -> bytes:
    return _MANIFEST.pack(MANIFEST, manifest.upload, manifest.size, manifest.chunk_bytes)


def decode_stored(raw: bytes, key: str) -> Stored:
    """The record stored for ``key`` (CodecError naming it if it is neither form)."""
    if raw[:1] == b"\x00":
        return Stored(inline=memoryview(raw)[1:])
    if raw[:1] == b"\x01" and len(raw) == _MANIFEST.size:
        _, upload, size, chunk_bytes = _MANIFEST.unpack(raw)
        if chunk_bytes > 0:
            return Stored(manifest=Manifest(upload, size, chunk_bytes))
    raise CodecError(f"the stored record of key {key!r} is corrupt ({len(raw)} bytes)")
