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

Element blocks are merged element by element (:mod:`.merge`), so every key is exempt
from the key-level merge conflict check (``is_derived``); conflicts name elements.
"""

from __future__ import annotations

import struct

from voxhub.geometry import Vec3

BLOCK, FILING, INDEX, REFS = b"\x01", b"\x02", b"\x03", b"\x04"
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
    return tkey.hex()


def is_derived(tkey: bytes) -> bool:
    """Every key: filings and indexes are recomputed, blocks merged per element."""
    return True
