"""Type keys of image instances.

Layout (all integers big-endian, fixed width, so byte order equals numeric order):

* block: ``KEY_BLOCK (0x10) | scale (1 byte) | z | y | x``, each coordinate stored as
  the uint32 ``coord + 2**31``. Negative coordinates therefore sort first, and a scan of
  one scale visits blocks in z, then y, then x order.
* extents slots: ``KEY_EXTENTS (0x11) | slot (1 byte)``; each value is a scale-0 voxel
  box as six int64 (start z,y,x, stop z,y,x) and the extents are their union (see
  :mod:`.extents` and :mod:`voxhub.datatypes.slots`).
"""

from __future__ import annotations

import struct

from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3

KEY_BLOCK = 0x10
KEY_EXTENTS = 0x11

#: block coordinates must lie in ``[COORD_MIN, COORD_MAX]`` (int32).
COORD_MIN = -(2**31)
COORD_MAX = 2**31 - 1
MAX_SCALE = 255

_BLOCK = struct.Struct(">BBIII")
_BIAS = 2**31
_EXTENTS_VALUE = struct.Struct(">6q")

EXTENTS_KEY = bytes([KEY_EXTENTS])


def is_extents_key(tkey: bytes) -> bool:
    """Whether ``tkey`` is one of the extents records."""
    return tkey[:1] == EXTENTS_KEY


def block_key(scale: int, coord: Vec3) -> bytes:
    """The type key of block ``coord`` (block coordinates, ``(z, y, x)``) at ``scale``."""
    if not 0 <= scale <= MAX_SCALE:
        raise InvalidRequest(f"scale {scale} out of range 0..{MAX_SCALE}")
    z, y, x = coord
    if not all(COORD_MIN <= v <= COORD_MAX for v in coord):
        raise InvalidRequest(f"block coordinate {coord} outside the int32 range")
    return _BLOCK.pack(KEY_BLOCK, scale, z + _BIAS, y + _BIAS, x + _BIAS)


def decode_block_key(tkey: bytes) -> tuple[int, Vec3]:
    """``(scale, (z, y, x))`` of a block key; :class:`InvalidRequest` if it is not one."""
    if len(tkey) != _BLOCK.size or tkey[0] != KEY_BLOCK:
        raise InvalidRequest(f"not an image block key: {tkey.hex()}")
    _, scale, z, y, x = _BLOCK.unpack(tkey)
    return scale, (z - _BIAS, y - _BIAS, x - _BIAS)


def scale_range(scale: int) -> tuple[bytes, bytes]:
    """Half-open ``[start, end)`` tkey range holding every block of ``scale``."""
    prefix = bytes([KEY_BLOCK, scale])
    return prefix, bytes([KEY_BLOCK, scale + 1]) if scale < MAX_SCALE else bytes([KEY_EXTENTS])


def encode_extents(box: Box) -> bytes:
    """The stored form of the extents box."""
    return _EXTENTS_VALUE.pack(*box.start, *box.stop)


def decode_extents(value: bytes) -> Box:
    """Inverse of :func:`encode_extents`."""
    v = _EXTENTS_VALUE.unpack(value)
    return Box((v[0], v[1], v[2]), (v[3], v[4], v[5]))


def describe_tkey(tkey: bytes) -> str:
    """Human-readable form of a type key: ``"scale:z,y,x"`` for blocks, ``"extents"``."""
    if is_extents_key(tkey):
        return "extents"
    try:
        scale, (z, y, x) = decode_block_key(tkey)
    except InvalidRequest:
        return f"unknown:{tkey.hex()}"
    return f"{scale}:{z},{y},{x}"


def is_derived(tkey: bytes) -> bool:
    """Whether ``tkey`` holds data computed from scale 0 (extents, pyramid blocks).

    Merges ignore conflicts on derived keys and recompute them at the merge child.
    """
    if is_extents_key(tkey):
        return True
    return len(tkey) > 1 and tkey[0] == KEY_BLOCK and tkey[1] > 0
