"""Multi-scale pyramids: scale k+1 is a 2x mean downsampling of scale k.

Downsampling is in z, y and x (isotropic) or y and x only (anisotropic). Integer voxels
take the mean rounded half up, ``floor(mean + 0.5)``, computed exactly in integers (no
float rounding, no overflow even for uint64); float32 voxels take the float64 mean.

Every block at scale k+1 covers 2x2x2 (or 1x2x2) blocks of scale k, and each child
fills one octant of its parent. Writes keep pyramids current incrementally: inside the
write's own transaction, each parent of a changed block is read through the transaction,
the changed children's octants are replaced, and the parent is stored, level by level.
A parent whose children all changed is rebuilt without being read. Reading the parent
through the transaction is what keeps concurrent writers to neighbouring voxels correct.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from voxhub.blocks import BlockLayout, fetch_blocks, store_blocks
from voxhub.blocks.pool import parallel_map
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.stored import stored_blocks
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedTxn, VersionedView

#: parent blocks computed per transaction by :func:`build_pyramid`.
BUILD_BATCH = 64


def downsample(block: np.ndarray, factor: Vec3) -> np.ndarray:
    """Mean-downsample ``block`` by ``factor`` (each 1 or 2; shape divisible by it)."""
    n = factor[0] * factor[1] * factor[2]
    if block.dtype.kind == "f":
        mean: np.ndarray = _pair_sum(block.astype(np.float64), factor) / n
        return mean.astype(block.dtype)
    if block.dtype == np.uint64:
        # sum(v) = n*sum(v // n) + sum(v % n): both partial sums fit in uint64.
        q = _pair_sum(block // n, factor)
        r = _pair_sum(block % n, factor)
        exact: np.ndarray = q + (r + n // 2) // n
        return exact.astype(block.dtype)
    if n == 1:
        return block.copy()
    # uint8/16/32: the sum of n <= 8 voxels fits the next wider type; the first add
    # widens on the fly (no widened copy of the block: for uint8 that copy and its
    # uint32 sums took half the pyramid's time); n is a power of two, so the rounded
    # division is a shift
    total = _pair_sum(block, factor, np.dtype(f"u{2 * block.dtype.itemsize}"))
    total += n // 2
    total >>= n.bit_length() - 1
    return total.astype(block.dtype)


def _pair_sum(a: np.ndarray, factor: Vec3, wide: np.dtype[Any] | None = None) -> np.ndarray:
    """Sums over ``factor`` by strided pairwise adds (much faster than a reshape and a sum
    over 3 axes). ``wide``: the dtype of the sums (the first add casts to it), z first so
    the widening add reads whole contiguous rows; without it x first, the order float
    means have always been summed in."""
    for axis in (0, 1, 2) if wide is not None else (2, 1, 0):
        if factor[axis] != 2:
            continue
        lo = a[(slice(None),) * axis + (slice(0, None, 2),)]
        hi = a[(slice(None),) * axis + (slice(1, None, 2),)]
        a = np.add(lo, hi, dtype=wide) if wide is not None and a.dtype != wide else lo + hi
    return a


def parent_of(coord: Vec3, factor: Vec3) -> Vec3:
    """The block at the next scale whose octant ``coord`` fills."""
    return (coord[0] // factor[0], coord[1] // factor[1], coord[2] // factor[2])


def children_of(parent: Vec3, factor: Vec3) -> list[Vec3]:
    """The blocks of the scale below that ``parent`` covers, z, y, x order."""
    return [
        (parent[0] * factor[0] + dz, parent[1] * factor[1] + dy, parent[2] * factor[2] + dx)
        for dz in range(factor[0])
        for dy in range(factor[1])
        for dx in range(factor[2])
    ]


def _octant(child: Vec3, parent: Vec3, block_shape: Vec3, factor: Vec3) -> Box:
    size = (block_shape[0] // factor[0], block_shape[1] // factor[1], block_shape[2] // factor[2])
    start = tuple((c - p * f) * s for c, p, f, s in zip(child, parent, factor, size, strict=True))
    return Box.from_shape(size, (start[0], start[1], start[2]))


#: how a block is reduced by a factor: the mean for images, the mode for labels.
Reducer = Callable[[np.ndarray, Vec3], np.ndarray]


def _assemble(
    layout: BlockLayout,
    factor: Vec3,
    parent: Vec3,
    base: np.ndarray | None,
    children: Mapping[Vec3, np.ndarray],
    reduce: Reducer = downsample,
) -> np.ndarray:
    """``base`` (or a background block) with the octants of ``children`` replaced."""
    out = base if base is not None else layout.background_block()
    for child, data in children.items():
        octant = _octant(child, parent, layout.block_shape, factor)
        out[octant.relative_to((0, 0, 0))] = reduce(data, factor)
    return out


def update_pyramid(
    txn: VersionedTxn,
    config: ImageConfig,
    layouts: Sequence[BlockLayout],
    changed: Mapping[Vec3, np.ndarray],
    reduce: Reducer = downsample,
    *,
    reduced: bool = False,
) -> None:
    """Propagate the new scale-0 blocks ``changed`` up to ``config.max_scale`` via ``txn``.

    ``reduced``: ``changed`` holds the scale-0 blocks already reduced by the downsample
    factor (a writer that reduces each block as it encodes it need not keep full blocks
    alive: on small VMs touching fresh memory costs more than the copy itself)."""
    factor = config.downsample_factor
    for scale in range(1, config.max_scale + 1):
        level_reduce = _as_is if reduced and scale == 1 else reduce
        changed = _update_level(txn, layouts[scale], factor, changed, level_reduce)


def _as_is(block: np.ndarray, factor: Vec3) -> np.ndarray:
    return block


def _update_level(
    txn: VersionedTxn,
    layout: BlockLayout,
    factor: Vec3,
    changed: Mapping[Vec3, np.ndarray],
    reduce: Reducer,
) -> dict[Vec3, np.ndarray]:
    """Store the parents of ``changed`` with their octants replaced; return them."""
    groups: dict[Vec3, dict[Vec3, np.ndarray]] = defaultdict(dict)
    for child, data in changed.items():
        groups[parent_of(child, factor)][child] = data
    parents = list(groups)
    per_parent = factor[0] * factor[1] * factor[2]
    partial_parents = [p for p in parents if len(groups[p]) < per_parent]
    bases = dict(zip(partial_parents, fetch_blocks(txn, layout, partial_parents), strict=True))

    def build(p: Vec3) -> np.ndarray:
        return _assemble(layout, factor, p, bases.get(p), groups[p], reduce)

    new = dict(zip(parents, parallel_map(build, parents), strict=True))
    store_blocks(txn, layout, new)
    return new


def build_pyramid(
    view: VersionedView,
    config: ImageConfig,
    extents: Box | None,
    layouts: Sequence[BlockLayout],
    reduce: Reducer = downsample,
) -> None:
    """Recompute every pyramid level inside ``extents`` (scale 0) from the level below.

    Only parents with a stored child, and parents stored already (they may have no
    children left: rebuilt, they become background and are deleted), are computed: the
    work follows the stored blocks (key scans, :mod:`.stored`), never the volume of
    ``extents``, which a client may declare as large as it likes.

    Parallel over blocks; each batch of :data:`BUILD_BATCH` parents is one transaction
    that reads its children through the transaction, so concurrent writers stay correct.
    """
    if extents is None or extents.empty or config.max_scale == 0:
        return
    view.check_writable()
    factor = config.downsample_factor
    for scale in range(1, config.max_scale + 1):
        below = layouts[scale - 1].grid.block_range(
            extents.downsample(config.scale_factor(scale - 1))
        )
        here = layouts[scale].grid.block_range(extents.downsample(config.scale_factor(scale)))
        wanted = {parent_of(c, factor) for c in stored_blocks(view, scale - 1, below)}
        wanted.update(stored_blocks(view, scale, here))
        parents = sorted(wanted)
        for i in range(0, len(parents), BUILD_BATCH):
            batch = parents[i : i + BUILD_BATCH]
            view.transact(
                partial(
                    _rebuild,
                    layouts=layouts,
                    scale=scale,
                    factor=factor,
                    parents=batch,
                    reduce=reduce,
                )
            )


def _rebuild(
    txn: VersionedTxn,
    layouts: Sequence[BlockLayout],
    scale: int,
    factor: Vec3,
    parents: list[Vec3],
    reduce: Reducer,
) -> None:
    children = [children_of(p, factor) for p in parents]
    flat = [c for group in children for c in group]
    decoded = dict(zip(flat, fetch_blocks(txn, layouts[scale - 1], flat), strict=True))

    def build(i: int) -> np.ndarray:
        present: dict[Vec3, np.ndarray] = {}
        for c in children[i]:
            block = decoded[c]
            if block is not None:
                present[c] = block
        return _assemble(layouts[scale], factor, parents[i], None, present, reduce)

    store_blocks(
        txn,
        layouts[scale],
        dict(zip(parents, parallel_map(build, range(len(parents))), strict=True)),
    )
