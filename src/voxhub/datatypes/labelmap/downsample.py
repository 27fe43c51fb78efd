"""Label pyramids: downsample a block of label ids by a mode that never invents ids.

Averaging or interpolating label ids would create ids that exist nowhere, so every coarser
voxel takes one of the ids of its cell (the ``factor`` voxels it covers):

* the **most frequent nonzero** id of the cell wins;
* ties are broken by the **smallest** id, so the result does not depend on voxel order;
* the voxel is 0 only if the whole cell is 0 (background never outvotes a label).

So a cell ``[0, 0, 0, d]`` gives ``d``: a thin process that touches one corner survives at
the coarser scale, where ndstore/BossDB's plain mode (which counts 0 like any id) would
return 0 and erase it.

Cost: the cells holding one id are found first (``k - 1`` comparisons with the first of
the ``k = fz*fy*fx`` voxel planes), and only the others' ids are compared pairwise, each
comparison one vectorised numpy pass over those cells (28 passes for 2×2×2). Before
that first step (every cell counted pairwise), measured on the 2-core development
machine, median of 50 runs of a 64³ block, 2×2×2: uint64 random ids drawn
from 5 labels (the slowest case: the comparisons are unpredictable) 2.8-3.8 ms, random ids
from 2**31 or a constant block (the usual case inside a body) 0.8-1.3 ms; uint32 about the
same. 1×2×2 is a little faster.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import numpy.typing as npt

from voxhub.codecs.label_runs import thread_buffer
from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3, vec3

UIntArray = npt.NDArray[np.unsignedinteger]


def downsample_labels(block: npt.NDArray[np.unsignedinteger], factor: Vec3) -> UIntArray:
    """Downsample a ``(z, y, x)`` label block by ``factor`` (e.g. ``(2, 2, 2)``).

    The block's dtype must be unsigned (uint64 or uint32 for labels) and is kept. A side
    that is not a multiple of its factor is padded with 0 at the far end; since 0 never
    outvotes a label, that is the same as taking the mode of the part of the cell that
    exists. The result has shape ``ceil(shape / factor)``.

    >>> b = np.zeros((2, 2, 2), np.uint64)
    >>> b[1, 1, 1] = 2**64 - 1
    >>> downsample_labels(b, (2, 2, 2)).tolist()
    [[[18446744073709551615]]]
    >>> downsample_labels(np.array([[[5, 3, 3, 5]]], np.uint64), (1, 1, 4)).tolist()
    [[[3]]]
    """
    fz, fy, fx = vec3(factor, "downsample factor")
    if min(fz, fy, fx) < 1:
        raise InvalidRequest(f"downsample factor must be positive, got {factor}")
    if block.ndim != 3:
        raise InvalidRequest(f"label block must be 3-d (z, y, x), got shape {block.shape}")
    if block.dtype.kind != "u":
        raise InvalidRequest(f"label block must be an unsigned integer type, got {block.dtype}")
    return _mode_of_cells(_planes(block, (fz, fy, fx)))


def _mode_of_cells(planes: list[UIntArray]) -> UIntArray:
    """:func:`_plane_mode`, computed only where a cell holds two ids or more.

    In a segmentation most cells hold one id (their mode); finding them takes ``k - 1``
    comparisons with the first plane, against the ``k * (k - 1) / 2`` of the pairwise
    count, which then runs on the other cells' voxels only (a 64³ block of Voronoi
    labels has 9.5% of them at 2×2×2: 0.75 against 1.0 ms, the planes' copies aside).
    """
    first = planes[0]
    if len(planes) == 1:
        return first.copy()  # factor 1: the plane is a view of a reused buffer
    mixed = first != planes[1]
    for plane in planes[2:]:
        mixed |= first != plane
    (at,) = np.nonzero(mixed.reshape(-1))
    if 2 * at.size > first.size:  # mostly mixed (noise): gathering them would not pay
        return _plane_mode(planes)
    out = first.copy()
    if at.size:
        out.reshape(-1)[at] = _plane_mode([plane.reshape(-1)[at] for plane in planes])
    return out


def _planes(block: UIntArray, factor: Vec3) -> list[UIntArray]:
    """The ``k`` voxels of every output cell as ``k`` arrays of the output's shape.

    Plane ``(dz, dy, dx)`` holds voxel ``(dz, dy, dx)`` of each cell. Working plane by
    plane keeps every pass a flat, contiguous numpy operation. The planes are views of
    one transposing copy of the block (4x faster than a strided copy per plane), valid
    until this thread's next call.
    """
    fz, fy, fx = factor
    z, y, x = block.shape
    nz, ny, nx = -(-z // fz), -(-y // fy), -(-x // fx)
    if (nz * fz, ny * fy, nx * fx) != block.shape:
        # Zero padding is neutral (see downsample_labels); it only happens on odd edges.
        padded = np.zeros((nz * fz, ny * fy, nx * fx), block.dtype)
        padded[:z, :y, :x] = block
        block = padded
    cells = block.reshape(nz, fz, ny, fy, nx, fx).transpose(1, 3, 5, 0, 2, 4)
    # in this thread's reused buffer: fresh pages cost more to touch than the copy
    planes = thread_buffer("downsample_planes", cells.shape, block.dtype.type)
    np.copyto(planes, cells)
    return [planes[dz, dy, dx] for dz, dy, dx in product(range(fz), range(fy), range(fx))]


def _plane_mode(planes: list[UIntArray]) -> UIntArray:
    """Per voxel across planes: most frequent nonzero id, smallest on ties, 0 if all 0."""
    k = len(planes)
    if k == 1:
        return planes[0].copy()  # factor 1: the plane is a view of a reused buffer
    count_type = np.uint8 if k < 256 else np.uint32
    # counts[i] = how many planes hold the same id as plane i (itself included). Each
    # pair is compared once: k*(k-1)/2 comparisons, 28 for a 2×2×2 cell.
    counts = [np.ones(planes[0].shape, count_type) for _ in range(k)]
    for i in range(k):
        for j in range(i + 1, k):
            same = planes[i] == planes[j]
            counts[i] += same
            counts[j] += same
    for plane, count in zip(planes, counts, strict=True):
        count *= plane != 0  # background never wins while the cell holds a label
    best = counts[0].copy()
    for count in counts[1:]:
        np.maximum(best, count, out=best)
    # Smallest id among those reaching the best count. An all-zero cell has best == 0,
    # so all its zeros qualify and the answer is 0. Starting from the dtype's maximum is
    # safe: some plane always qualifies, and if that maximum is itself the winner the
    # minimum is still right.
    out = np.full(best.shape, np.iinfo(planes[0].dtype).max, planes[0].dtype)
    for plane, count in zip(planes, counts, strict=True):
        np.minimum(out, plane, out=out, where=count == best)
    return out
