"""Cutting a large box into block-aligned pieces small enough for one request each.

Pieces are slabs along z (then y, then x, only when one block-thick slab is still too
big) whose inner boundaries lie on block boundaries, so no two pieces share a block and
parallel writes never contend for the same block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from voxhub.geometry import Box, Vec3

T = TypeVar("T")


def dvid_geometry(box: Box) -> str:
    """``{sx}_{sy}_{sz}/{x}_{y}_{z}``: DVID's size/offset path segments for ``box``."""
    (sz, sy, sx), (z, y, x) = box.shape, box.start
    return f"{sx}_{sy}_{sz}/{x}_{y}_{z}"


def run_all(pool: ThreadPoolExecutor, fn: Callable[[T], None], items: Sequence[T]) -> None:
    """``fn`` over ``items`` on the connection threads (inline for one); the first error
    is raised once every item has finished."""
    if len(items) <= 1:
        for item in items:
            fn(item)
        return
    for future in [pool.submit(fn, item) for item in items]:
        future.result()


def _cuts(lo: int, hi: int, block: int, step_blocks: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` cut at multiples of ``block``, ``step_blocks`` blocks per part."""
    out: list[tuple[int, int]] = []
    start = lo
    while start < hi:
        aligned = (start // block + step_blocks) * block  # next boundary(s) past start
        stop = min(hi, aligned)
        out.append((start, stop))
        start = stop
    return out


def split_box(box: Box, block_shape: Vec3, max_voxels: int) -> list[Box]:
    """Block-aligned pieces tiling ``box``, each of at most ``max_voxels`` voxels unless a
    single block (clipped to the box) is already larger.

    >>> [p.shape for p in split_box(Box((0, 0, 0), (100, 64, 64)), (32, 32, 32), 64 * 64 * 40)]
    [(32, 64, 64), (32, 64, 64), (32, 64, 64), (4, 64, 64)]
    """
    if box.empty or box.size <= max_voxels:
        return [box] if not box.empty else []
    pieces: list[Box] = []
    _split(box, block_shape, max_voxels, 0, pieces)
    return pieces


def _split(box: Box, block_shape: Vec3, max_voxels: int, axis: int, out: list[Box]) -> None:
    if box.size <= max_voxels or axis == 3:
        out.append(box)
        return
    block = block_shape[axis]
    # voxels in one block-thick layer across this axis
    layer = box.size // box.shape[axis] * min(block, box.shape[axis])
    steps = max(1, max_voxels // max(1, layer))
    for lo, hi in _cuts(box.start[axis], box.stop[axis], block, steps):
        start = list(box.start)
        stop = list(box.stop)
        start[axis], stop[axis] = lo, hi
        part = Box((start[0], start[1], start[2]), (stop[0], stop[1], stop[2]))
        _split(part, block_shape, max_voxels, axis + 1, out)
