"""Which blocks are stored: key scans, so that work follows the data, not a declared box.

A client can declare extents of any size (``POST extents``) or write one block far from
the others; anything that walked every block of such a box would do work no one stored
(a pyramid build over a 10⁶-block-wide extent never ends). Work over "all the data" asks
this module instead: one ordered key scan per scale, limited to the box's z planes,
visiting stored blocks only.
"""

from __future__ import annotations

from collections.abc import Iterator

from voxhub.datatypes.imageblk.keys import COORD_MAX, COORD_MIN, block_key, decode_block_key
from voxhub.datatypes.imageblk.keys import scale_range as key_range_of_scale
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader


def _clamp(v: int) -> int:
    return max(COORD_MIN, min(COORD_MAX, v))


def stored_blocks(reader: VersionedReader, scale: int, blocks: Box) -> Iterator[Vec3]:
    """Coordinates of the blocks of ``scale`` stored (visible to ``reader``) inside the
    box of *block* coordinates ``blocks``, in z, y, x order.

    Costs one scan over the stored blocks of the box's z planes, never its volume.
    """
    if blocks.empty:
        return
    (z0, y0, x0), (z1, y1, x1) = blocks.start, blocks.stop
    if z0 > COORD_MAX or z1 - 1 < COORD_MIN:
        return
    start = block_key(scale, (_clamp(z0), COORD_MIN, COORD_MIN))
    end = (
        block_key(scale, (z1, COORD_MIN, COORD_MIN))
        if z1 <= COORD_MAX
        else key_range_of_scale(scale)[1]
    )
    for tkey, _ in reader.scan(start, end, keys_only=True):
        _, (z, y, x) = decode_block_key(tkey)
        if y0 <= y < y1 and x0 <= x < x1:
            yield (z, y, x)
