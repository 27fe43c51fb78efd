"""Read an arbitrary box through blocks: one batched get, parallel decode, one output.

Missing blocks read as the layout's background. Blocks are decoded on the shared pool;
a block whose destination slice is contiguous (fully inside the box and spanning the
box's y and x extent) is decoded straight into the output, others go through a
per-thread scratch buffer and one copy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxhub.blocks.layout import BlockLayout
from voxhub.blocks.pool import parallel_map, scratch
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader


def read_box(reader: VersionedReader, layout: BlockLayout, box: Box) -> np.ndarray:
    """The voxels of ``box`` (C order ``(z, y, x)``, the layout's dtype)."""
    coords = list(layout.grid.blocks_in(box))
    values = reader.get_many([layout.tkey(c) for c in coords])
    out = np.empty(box.shape, dtype=layout.dtype)
    parallel_map(lambda i: fill_block(layout, box, out, coords[i], values[i]), range(len(coords)))
    return out


def fill_block(
    layout: BlockLayout, box: Box, out: np.ndarray, coord: Vec3, data: bytes | memoryview | None
) -> None:
    """Decode the stored block ``data`` at ``coord`` into its part of ``out`` (which holds
    ``box``); ``None`` fills that part with the background."""
    block = layout.grid.block_box(coord)
    part = block.intersect(box)
    dst = out[part.relative_to(box.start)]
    if data is None:
        dst[...] = layout.background
    elif part == block and dst.flags.c_contiguous:
        layout.codec.decode_into(data, dst)
    else:
        buf = scratch(layout.block_shape, layout.dtype)
        layout.codec.decode_into(data, buf)
        np.copyto(dst, buf[part.relative_to(block.start)])


def fetch_blocks(
    reader: VersionedReader, layout: BlockLayout, coords: Sequence[Vec3]
) -> list[np.ndarray | None]:
    """Decoded whole blocks at ``coords`` (``None`` where absent), decoded in parallel."""
    values = reader.get_many([layout.tkey(c) for c in coords])

    def decode(data: bytes | None) -> np.ndarray | None:
        if data is None:
            return None
        return layout.codec.decode(data, layout.block_shape, layout.dtype)

    return parallel_map(decode, values)
