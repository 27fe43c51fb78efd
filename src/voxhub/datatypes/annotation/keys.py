"""Type keys of an annotation instance.

* ``0x01 | block`` — the elements of one block (primary data); ``block`` is the block
  coordinate ``(z, y, x)`` as three biased big-endian u32, so keys sort z, y, x;
* ``0x02 | block`` — the block's *filing*: the supervoxel under each element (derived,
  kept only while the instance syncs to a labelmap);
* ``0x04 | block`` — references: ``(target, source)`` position keys of every
  relationship whose target lies in the block (derived), so a delete or move finds every
  element pointing at the element it changes;
* ``0x03 | supervoxel (u64)`` — the supervoxel's *index*: positions and kinds of the
  elements lying on it (derived), so a body's elements are those of its supervoxels and
  merges, cleaves and renumbers change nothing here.
* ``0x05 | length (u8) | tag (UTF-8) | block`` — the tag index: position keys of the
  block's elements carrying the tag (derived, :mod:`.tags`), so ``GET tag/{tag}`` scans
  one range (the length makes one tag's keys no prefix of another's). A tag has at most
  :data:`MAX_TAG_BYTES` bytes, which keeps the keys within every store's key limit.

Element blocks are merged element by element (:mod:`.merge`), so every key is exempt
from the key-level merge conflict check (``is_derived``); conflicts name elements.
"""

from __future__ import annotations

import struct

from voxhub.geometry import Vec3

BLOCK, FILING, INDEX, REFS, TAGS = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"
#: the longest tag, in UTF-8 bytes
MAX_TAG_BYTES = 255
_BLOCK = struct.Struct(">III")
_SV = struct.Struct(">Q")
_BIAS = 1 << 31


def block_tkey(block: Vec3, cls: bytes = BLOCK) -> bytes:
    z, y, x = block
    return cls + _BLOCK.pack(z + _BIAS, y + _BIAS, x + _BIAS)


def filing_tkey(block: Vec3) -> bytes:
    return block_tkey(block, FILING)


def refs_tkey(block: Vec3) -> bytes:
    return block_tkey(block, REFS)


def index_tkey(sv: int) -> bytes:
    return INDEX + _SV.pack(sv)


def block_of(tkey: bytes) -> Vec3:
    """The block coordinate of an element-block or filing key."""
    z, y, x = _BLOCK.unpack_from(tkey, 1)
    return (z - _BIAS, y - _BIAS, x - _BIAS)


def sv_of(tkey: bytes) -> int:
    value: int = _SV.unpack_from(tkey, 1)[0]
    return value


def taggable(tag: str) -> bool:
    """Whether an element may carry ``tag`` (see the module doc)."""
    return len(_tag_bytes(tag)) <= MAX_TAG_BYTES


def _tag_bytes(tag: str) -> bytes:
    return tag.encode("utf-8", "surrogatepass")


def _tag_prefix(tag: str) -> bytes:
    raw = _tag_bytes(tag)
    return TAGS + bytes([len(raw)]) + raw


def tag_tkey(tag: str, block: Vec3) -> bytes:
    return _tag_prefix(tag) + block_tkey(block, b"")


def tag_range(tag: str) -> tuple[bytes, bytes]:
    """The tkey range of one tag's keys (every block)."""
    start = _tag_prefix(tag)
    return start, start + b"\xff" * (_BLOCK.size + 1)


def tag_of(tkey: bytes) -> tuple[str, Vec3]:
    """The tag and block of a tag-index key."""
    z, y, x = _BLOCK.unpack_from(tkey, len(tkey) - _BLOCK.size)
    tag = tkey[2 : -_BLOCK.size].decode("utf-8", "surrogatepass")
    return tag, (z - _BIAS, y - _BIAS, x - _BIAS)


def class_range(cls: bytes) -> tuple[bytes, bytes]:
    """The tkey range of one key class."""
    return cls, bytes([cls[0] + 1])


def describe_tkey(tkey: bytes) -> str:
    if tkey[:1] in (BLOCK, FILING, REFS) and len(tkey) == 13:
        z, y, x = block_of(tkey)
        what = {BLOCK: "elements", FILING: "supervoxel filing", REFS: "references"}[tkey[:1]]
        return f"{what} of block {x},{y},{z}"
    if tkey[:1] == INDEX and len(tkey) == 9:
        return f"elements of supervoxel {sv_of(tkey)}"
    if tkey[:1] == TAGS and len(tkey) >= 14:
        tag, (z, y, x) = tag_of(tkey)
        return f"elements tagged {tag!r} in block {x},{y},{z}"
    return tkey.hex()


def is_derived(tkey: bytes) -> bool:
    """Every key: filings, indexes and tags are recomputed, blocks merged per element."""
    return True
