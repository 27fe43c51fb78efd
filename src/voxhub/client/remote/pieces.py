"""Cutting a large box into block-aligned pieces small enough for one request each.

Pieces are slabs along z (then y, then x, only when one block-thick slab is still too
big) whose inner boundaries lie on block boundaries, so no two pieces share a block and
parallel writes never contend for the same block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from voxhub.errors import PartialWrite
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
    futures = [pool.submit(fn, item) for item in items]
    wait(futures)
    for future in futures:
        future.result()


def write_slabs(
    pool: ThreadPoolExecutor, post: Callable[[Box], None], slabs: Sequence[Box], what: str
) -> None:
    """Post every slab (in parallel), wait for all of them, and report what did not land.

    If no slab landed, the first slab's error is raised as it is (the write failed as a
    whole, like a single request). If some landed, :class:`~voxhub.errors.PartialWrite`
    names the boxes written and those not written.
    """
    if len(slabs) <= 1:
        for slab in slabs:
            post(slab)
        return
    futures = [pool.submit(post, slab) for slab in slabs]
    wait(futures)
    errors = [f.exception() for f in futures]
    failed = [(s, e) for s, e in zip(slabs, errors, strict=True) if e is not None]
    if not failed:
        return
    first = failed[0][1]
    if not isinstance(first, Exception):  # KeyboardInterrupt and the like pass through
        raise first
    landed = [s for s, e in zip(slabs, errors, strict=True) if e is None]
    if not landed:
        raise first
    boxes = ", ".join(str(s) for s, _ in failed)
    raise PartialWrite(
        f"{what}: {len(landed)} of {len(slabs)} slabs were written, {len(failed)} were not "
        f"({boxes}); first error: {first}",
        landed,
        [s for s, _ in failed],
        [e if isinstance(e, Exception) else Exception(str(e)) for _, e in failed],
    ) from first


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
