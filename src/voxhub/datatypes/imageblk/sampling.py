"""Nearest-neighbour resampling for ``isotropic`` and ``arb`` reads (numpy, no voxel loops).

Isotropic space has cubic voxels whose side is the finest voxel size of the volume. The
isotropic voxel ``i`` along an axis of voxel size ``s`` takes the stored voxel holding its
centre, ``floor((i + 0.5) * iso / s)``; along the finest axes that is the identity, along
a coarse z (EM sections) each section is repeated ``s / iso`` times.

An ``arb`` plane is sampled at ``top_left + c*res*u + r*res*v`` (physical units; ``u``
and ``v`` the unit vectors towards ``top_right`` and ``bottom_left``), each sample taking
the stored voxel that contains it. Only the blocks the samples touch are read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from voxhub.blocks import BlockLayout, fetch_blocks
from voxhub.errors import InvalidRequest, TooLarge
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader

Reader = Callable[[Box], np.ndarray]
#: arb corners (physical units) and the voxels they reach stay within ±2**40
ARB_COORD_LIMIT = 2.0**40
#: the most samples along one side of an arb image
ARB_MAX_SIDE = 2**31


def isotropic_sources(box: Box, voxel_size: Sequence[float]) -> tuple[Box, list[np.ndarray]]:
    """For an isotropic ``box``: the stored box to read and, per axis, the stored indices.

    Indices are relative to the stored box's start, ready for ``np.ix_``.
    """
    iso = min(voxel_size)
    indices: list[np.ndarray] = []
    for axis in range(3):
        wanted = np.arange(box.start[axis], box.stop[axis], dtype=np.float64)
        indices.append(np.floor((wanted + 0.5) * iso / voxel_size[axis]).astype(np.int64))
    start = (int(indices[0][0]), int(indices[1][0]), int(indices[2][0]))
    stop = (int(indices[0][-1]) + 1, int(indices[1][-1]) + 1, int(indices[2][-1]) + 1)
    return Box(start, stop), [ix - s for ix, s in zip(indices, start, strict=True)]


def read_isotropic(read: Reader, box: Box, voxel_size: Sequence[float]) -> np.ndarray:
    """The voxels of isotropic ``box``, read through ``read`` (a box reader of stored voxels)."""
    source, indices = isotropic_sources(box, voxel_size)
    out: np.ndarray = read(source)[np.ix_(*indices)]
    return out


def plane_shape(
    top_left: np.ndarray, top_right: np.ndarray, bottom_left: np.ndarray, res: float
) -> tuple[int, int]:
    """``(rows, columns)`` of the arb image: edge lengths over ``res``, at least 1.

    Corners beyond ±2**40 and sides of 2**31 samples or more are refused before anything
    is computed from them (a float that large has no exact voxel, and ``round`` of an
    infinite side raises ``OverflowError``).
    """
    if not (math.isfinite(res) and res > 0):
        raise InvalidRequest(f"arb resolution must be a positive number, got {res}")
    for corner in (top_left, top_right, bottom_left):
        if not np.all(np.abs(corner) <= ARB_COORD_LIMIT):
            raise InvalidRequest(f"arb corner {corner[::-1].tolist()} is beyond ±2**40")
    width = float(np.linalg.norm(top_right - top_left))
    height = float(np.linalg.norm(bottom_left - top_left))
    if width == 0 or height == 0:
        raise InvalidRequest(
            "arb corners must span a plane: top_right and bottom_left differ from top_left"
        )
    rows, cols = height / res, width / res
    if not (rows < ARB_MAX_SIDE and cols < ARB_MAX_SIDE):
        raise TooLarge(
            f"arb image of {rows:.3g} x {cols:.3g} samples: sides are limited to "
            f"{ARB_MAX_SIDE} samples (and the image to the server's byte limit)"
        )
    return max(1, round(rows)), max(1, round(cols))


def plane_voxels(
    top_left: np.ndarray,
    top_right: np.ndarray,
    bottom_left: np.ndarray,
    res: float,
    voxel_size: Sequence[float],
) -> np.ndarray:
    """Stored voxel coordinates ``(rows, columns, 3)`` (z, y, x) of every arb sample.

    Points and ``voxel_size`` are physical, ``(z, y, x)``.
    """
    rows, cols = plane_shape(top_left, top_right, bottom_left, res)
    u = (top_right - top_left) / np.linalg.norm(top_right - top_left)
    v = (bottom_left - top_left) / np.linalg.norm(bottom_left - top_left)
    c = np.arange(cols, dtype=np.float64)[None, :, None] * res
    r = np.arange(rows, dtype=np.float64)[:, None, None] * res
    points = top_left[None, None, :] + c * u[None, None, :] + r * v[None, None, :]
    voxels: np.ndarray = np.floor(points / np.asarray(voxel_size, dtype=np.float64))
    if not np.all(np.abs(voxels) <= ARB_COORD_LIMIT):  # a tiny voxel size magnifies corners
        raise InvalidRequest("arb plane reaches voxels beyond ±2**40")
    return voxels.astype(np.int64)


def gather_voxels(
    reader: VersionedReader, layout: BlockLayout, voxels: np.ndarray, max_bytes: int
) -> np.ndarray:
    """Values at integer ``voxels`` (``(..., 3)``, z, y, x), reading only touched blocks.

    The decoded blocks held at once must fit in ``max_bytes`` (:class:`TooLarge` otherwise).
    """
    flat = voxels.reshape(-1, 3)
    shape = np.asarray(layout.block_shape, dtype=np.int64)
    block_coords = np.floor_divide(flat, shape)
    unique, inverse = np.unique(block_coords, axis=0, return_inverse=True)
    block_bytes = int(np.prod(shape)) * layout.dtype.itemsize
    if len(unique) * block_bytes > max_bytes:
        raise TooLarge(
            f"arb plane touches {len(unique)} blocks ({len(unique) * block_bytes} bytes), over "
            f"the server limit of {max_bytes} bytes per request"
        )
    coords: list[Vec3] = [(int(a), int(b), int(c)) for a, b, c in unique]
    blocks = fetch_blocks(reader, layout, coords)
    stack = np.empty((len(coords), *layout.block_shape), dtype=layout.dtype)
    for i, block in enumerate(blocks):
        stack[i] = layout.background if block is None else block
    local = flat - block_coords * shape
    values = stack[inverse.reshape(-1), local[:, 0], local[:, 1], local[:, 2]]
    out: np.ndarray = values.reshape(voxels.shape[:-1])
    return out
