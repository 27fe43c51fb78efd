"""Compressed Morton codes: the chunk ids of a sharded neuroglancer precomputed volume.

A chunk at grid position ``g = [x, y, z]`` of a grid ``grid = [gx, gy, gz]`` chunks wide
has the id made by interleaving the bits of ``x``, ``y`` and ``z``, lowest first, in that
order, skipping a dimension once its bits run out: dimension ``d`` has
``bit_length(grid[d] - 1)`` bits (tensorstore's ``GetCompressedZIndexBits``; neuroglancer's
spec words it as ``2**i < grid[d]``). So the ids of a ``2**a x 2**b x 2**c`` aligned box
of the grid are one contiguous range, which is what lets a shard be a box of chunks.

Everything here works on numpy arrays of many positions at once (one pass per bit level,
at most 64), positions as rows ``[x, y, z]``.
"""

from __future__ import annotations

import numpy as np

from voxhub.errors import InvalidRequest

#: the most bits a chunk id has
ID_BITS = 64


def morton_bits(grid: tuple[int, int, int] | list[int]) -> tuple[int, int, int]:
    """Bits of each of ``x``, ``y``, ``z`` in the ids of a grid ``grid`` chunks wide
    (``[x, y, z]``); :class:`InvalidRequest` if they exceed 64 bits in all."""
    if len(grid) != 3 or any(int(g) < 1 for g in grid):
        raise InvalidRequest(f"a chunk grid is 3 positive sizes [x, y, z], got {list(grid)}")
    bits = tuple((int(g) - 1).bit_length() for g in grid)
    if sum(bits) > ID_BITS:
        raise InvalidRequest(f"a chunk grid of {list(grid)} needs chunk ids over 64 bits")
    return bits[0], bits[1], bits[2]


def _levels(bits: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """``(output bit, dimension, input bit)`` for every bit of an id, lowest first."""
    out: list[tuple[int, int, int]] = []
    for level in range(max(bits)):
        for dim in range(3):
            if level < bits[dim]:
                out.append((len(out), dim, level))
    return out


def compressed_morton(positions: np.ndarray, bits: tuple[int, int, int]) -> np.ndarray:
    """The ids (uint64) of the grid ``positions`` (integer rows ``[x, y, z]``, each
    ``0 <= p < 2**bits``)."""
    pos = np.asarray(positions, np.uint64).reshape(-1, 3)
    ids = np.zeros(len(pos), np.uint64)
    one = np.uint64(1)
    for out, dim, level in _levels(bits):
        ids |= ((pos[:, dim] >> np.uint64(level)) & one) << np.uint64(out)
    return ids


def morton_positions(ids: np.ndarray, bits: tuple[int, int, int]) -> np.ndarray:
    """The grid positions (int64 rows ``[x, y, z]``) of chunk ``ids``; bits of an id
    above the grid's are ignored."""
    codes = np.asarray(ids, np.uint64).ravel()
    pos = np.zeros((len(codes), 3), np.uint64)
    one = np.uint64(1)
    for out, dim, level in _levels(bits):
        pos[:, dim] |= ((codes >> np.uint64(out)) & one) << np.uint64(level)
    return pos.astype(np.int64)
