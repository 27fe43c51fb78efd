"""Reading stored element blocks: by block, in a box, everywhere.

Everything here reads through a :class:`~voxhub.versioning.protocols.VersionedReader`,
so it serves a plain view (reads at a node) and a transaction (reads that see the
transaction's own writes) alike. A box query reads the blocks of the box with one
``get_many`` when there are few of them, otherwise it walks the stored block keys of the
box's z-range, so its cost follows what is stored, never the size a client declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from voxhub.datatypes.annotation.codec import decode_block
from voxhub.datatypes.annotation.elements import (
    COORD_MAX,
    COORD_MIN,
    Elements,
    concat,
    key_positions,
    pos_keys,
)
from voxhub.datatypes.annotation.keys import BLOCK, block_of, block_tkey, class_range
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader

#: a box spanning up to this many blocks reads them by key; a larger one scans keys
DIRECT_BLOCKS = 4096


def blocks_of(pos: np.ndarray, shape: Vec3) -> np.ndarray:
    """``(N, 3)`` block coordinates of ``(N, 3)`` zyx positions."""
    return np.floor_divide(pos.astype(np.int64), np.asarray(shape, np.int64))


def read_blocks(reader: VersionedReader, blocks: Iterable[Vec3]) -> dict[Vec3, Elements]:
    """The stored elements of each of ``blocks`` (empty ones left out)."""
    wanted = list(dict.fromkeys(blocks))
    values = reader.get_many([block_tkey(b) for b in wanted])
    return {b: decode_block(v) for b, v in zip(wanted, values, strict=True) if v is not None}


def block_range(box: Box, shape: Vec3) -> Box:
    """The block coordinates meeting ``box`` (half-open)."""
    lo = tuple(s // b for s, b in zip(box.start, shape, strict=True))
    hi = tuple(-(-e // b) for e, b in zip(box.stop, shape, strict=True))
    return Box((lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2]))


def _every_block(blocks: Box) -> list[Vec3]:
    z0, y0, x0 = blocks.start
    z1, y1, x1 = blocks.stop
    return [(z, y, x) for z in range(z0, z1) for y in range(y0, y1) for x in range(x0, x1)]


def _scanned_blocks(reader: VersionedReader, blocks: Box) -> list[Vec3]:
    """The stored blocks of ``blocks`` (block coordinates), from a walk of the stored
    keys of its z-range (for boxes of more than :data:`DIRECT_BLOCKS` blocks)."""
    start = block_tkey((blocks.start[0], -(1 << 31), -(1 << 31)))
    stop = block_tkey((blocks.stop[0], -(1 << 31), -(1 << 31)))
    found = (block_of(t) for t, _ in reader.scan(start, stop, keys_only=True))
    lo, hi = blocks.start, blocks.stop
    return [b for b in found if all(lo[i] <= b[i] < hi[i] for i in range(3))]


def stored_blocks_in(reader: VersionedReader, box: Box, shape: Vec3) -> list[Vec3]:
    """Coordinates of the stored blocks meeting ``box``."""
    blocks = block_range(box, shape)
    if blocks.empty:
        return []
    if blocks.size <= DIRECT_BLOCKS:
        every = _every_block(blocks)
        present = reader.get_many([block_tkey(b) for b in every])
        return [b for b, v in zip(every, present, strict=True) if v is not None]
    return _scanned_blocks(reader, blocks)


def blocks_in(reader: VersionedReader, box: Box, shape: Vec3) -> dict[Vec3, Elements]:
    """The elements of every stored block meeting ``box``, read once."""
    blocks = block_range(box, shape)
    if blocks.empty:
        return {}
    wanted = (
        _every_block(blocks) if blocks.size <= DIRECT_BLOCKS else _scanned_blocks(reader, blocks)
    )
    return read_blocks(reader, wanted)


def all_blocks(reader: VersionedReader) -> Iterator[tuple[Vec3, Elements]]:
    """Every stored block and its elements, in key order."""
    for tkey, value in reader.scan(*class_range(BLOCK)):
        yield block_of(tkey), decode_block(value)


def elements_in(reader: VersionedReader, box: Box, shape: Vec3) -> Elements:
    """The elements inside ``box`` (exactly), block by block (z, y, x), in position order
    within a block (a global sort would cost more than the query). Relationships and
    extras stay deferred: the positions of all the blocks are filtered at once."""
    found = blocks_in(reader, box, shape)
    batch = concat([found[b] for b in sorted(found)])
    inside = np.ones(len(batch), bool)
    for axis in range(3):
        lo, hi = box.start[axis], box.stop[axis]
        if lo % shape[axis] == 0 and hi % shape[axis] == 0:
            continue  # the blocks read lie inside the box along this axis
        column = batch.pos[:, axis]
        inside &= column >= max(lo, COORD_MIN)
        inside &= column < min(hi, COORD_MAX + 1)
    return batch if inside.all() else batch.take(np.flatnonzero(inside))


def elements_at(reader: VersionedReader, keys: np.ndarray, shape: Vec3) -> Elements:
    """The stored elements at the position ``keys`` (missing ones left out), sorted."""
    if not len(keys):
        return Elements.empty()
    blocks = key_positions(np.unique(pos_keys(blocks_of(key_positions(keys), shape))))
    found = read_blocks(reader, [(b[0], b[1], b[2]) for b in blocks.tolist()])
    parts = []
    for block in sorted(found):
        batch = found[block]
        parts.append(batch.take(np.flatnonzero(np.isin(batch.keys(), keys))))
    return concat(parts).sorted()
