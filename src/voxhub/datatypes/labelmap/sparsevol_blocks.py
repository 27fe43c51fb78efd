"""DVID's ``sparsevol?format=blocks``: a body as a stream of binary block masks.

Layout (DVID's ``labels.WriteBinaryBlocks``/``WriteBinaryBlock``; integers little-endian)::

    uint32 gx, gy, gz        8³ sub-blocks per block along x, y, z (8, 8, 8 for 64³)
    uint64 label             the body (or supervoxel) asked for
    then per block:
      int32 x, y, z          the block's first voxel, in the level's voxels
      uint8 flag             1: the block is wholly the label (nothing follows)
                             2: mixed, the gx*gy*gz sub-blocks follow (x fastest, then y, z)
    per sub-block:
      uint8 flag             0: none of the label, 1: all of it (nothing follows),
                             2: mixed, then 64 bytes: its 512 voxels (x fastest, then y,
                                then z), voxel i at bit i % 8 (least significant first)
                                of byte i // 8

The header is written with the first block; a label with no block gives an empty body.
Blocks come in ``(z, y, x)`` block order. DVID sends a block that meets the bounds
whole; voxhub clips its mask to the bounds (and leaves out a block left empty), so every
format of a sparsevol holds the same voxels.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3

SUB = 8  # sub-block edge
_SUB_BYTES = SUB**3 // 8
_HEADER = struct.Struct("<IIIQ")
_BLOCK = struct.Struct("<iiiB")
_INT32 = 2**31


def sub_grid(block_shape: Vec3) -> Vec3:
    """Sub-blocks per axis ``(gz, gy, gx)``; refuses shapes that are not multiples of 8."""
    if any(s <= 0 or s % SUB for s in block_shape):
        raise InvalidRequest(
            f"sparsevol format=blocks needs block sides that are multiples of {SUB}; "
            f"this instance's blocks are {tuple(block_shape)} (z, y, x)"
        )
    return block_shape[0] // SUB, block_shape[1] // SUB, block_shape[2] // SUB


def encode_header(block_shape: Vec3, label: int) -> bytes:
    """The stream header: sub-blocks per axis (x, y, z) and the label."""
    gz, gy, gx = sub_grid(block_shape)
    return _HEADER.pack(gx, gy, gz, label)


def encode_block(start: Vec3, mask: npt.NDArray[np.bool_]) -> bytes:
    """One block record: its first voxel ``start`` (z, y, x) and its ``(z, y, x)`` mask.

    An empty mask gives ``b""`` (DVID never sends a block without the label).
    """
    if min(start) < -_INT32 or max(start) >= _INT32:
        raise InvalidRequest(f"sparsevol: block at {start} exceeds int32 coordinates")
    head = (start[2], start[1], start[0])
    if mask.all():
        return _BLOCK.pack(*head, 1)
    gz, gy, gx = sub_grid((mask.shape[0], mask.shape[1], mask.shape[2]))
    subs = mask.reshape(gz, SUB, gy, SUB, gx, SUB).transpose(0, 2, 4, 1, 3, 5)
    subs = subs.reshape(gz * gy * gx, SUB**3)
    some = subs.any(axis=1)
    if not some.any():
        return b""
    every = subs.all(axis=1)
    mixed = some & ~every
    flags = np.where(every, 1, np.where(mixed, 2, 0)).astype(np.uint8)
    # each sub-block takes its flag byte, plus 64 mask bytes when mixed
    sizes = 1 + _SUB_BYTES * mixed.astype(np.int64)
    starts = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), np.uint8)
    out[starts] = flags
    bits = np.packbits(subs[mixed], axis=1, bitorder="little")
    out[starts[mixed][:, None] + 1 + np.arange(_SUB_BYTES)] = bits
    return _BLOCK.pack(*head, 2) + out.tobytes()


def decode_blocks(data: bytes | bytearray | memoryview) -> tuple[int, list[tuple[Box, np.ndarray]]]:
    """``(label, [(block box, bool mask), ...])`` of a ``format=blocks`` body.

    The inverse of :func:`encode_header` + :func:`encode_block`; an empty body is
    ``(0, [])``. Malformed bodies raise :class:`InvalidRequest`.
    """
    view = memoryview(data).cast("B")
    if len(view) == 0:
        return 0, []
    if len(view) < _HEADER.size:
        raise InvalidRequest(f"sparsevol blocks: {len(view)} bytes, shorter than the header")
    gx, gy, gz, label = _HEADER.unpack_from(view)
    if not 0 < gx * gy * gz <= 4096:
        raise InvalidRequest(f"sparsevol blocks: bad sub-block grid {gx}x{gy}x{gz}")
    shape = (gz * SUB, gy * SUB, gx * SUB)
    pos = _HEADER.size
    blocks: list[tuple[Box, np.ndarray]] = []
    while pos < len(view):
        if pos + _BLOCK.size > len(view):
            raise InvalidRequest("sparsevol blocks: truncated block header")
        x, y, z, flag = _BLOCK.unpack_from(view, pos)
        pos += _BLOCK.size
        box = Box.from_shape(shape, (z, y, x))
        if flag == 1:
            blocks.append((box, np.ones(shape, bool)))
            continue
        if flag != 2:
            raise InvalidRequest(f"sparsevol blocks: block flag {flag} is not 1 or 2")
        subs = np.zeros((gz * gy * gx, SUB**3), bool)
        for i in range(len(subs)):
            if pos >= len(view):
                raise InvalidRequest("sparsevol blocks: truncated sub-block")
            sub_flag = view[pos]
            pos += 1
            if sub_flag == 1:
                subs[i] = True
            elif sub_flag == 2:
                if pos + _SUB_BYTES > len(view):
                    raise InvalidRequest("sparsevol blocks: truncated sub-block mask")
                packed = np.frombuffer(view[pos : pos + _SUB_BYTES], np.uint8)
                subs[i] = np.unpackbits(packed, bitorder="little").astype(bool)
                pos += _SUB_BYTES
            elif sub_flag != 0:
                raise InvalidRequest(f"sparsevol blocks: sub-block flag {sub_flag}")
        mask = subs.reshape(gz, gy, gx, SUB, SUB, SUB).transpose(0, 3, 1, 4, 2, 5)
        blocks.append((box, np.ascontiguousarray(mask.reshape(shape))))
    return label, blocks
