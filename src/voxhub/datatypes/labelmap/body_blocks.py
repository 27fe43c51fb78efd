"""Which blocks of a pyramid level hold a body, from its label index alone.

The label index counts a body's voxels per *scale-0* block. Every level of the pyramid
uses the same block shape, so the block of level N holding the scale-0 block ``c`` is
``c // factor`` (``factor`` the per-axis downsampling from 0 to N): a level-N voxel is
the mode of a cell of scale-0 voxels, and that cell lies in scale-0 blocks that all map
to the level-N block holding the voxel. So the level-N blocks of a body are the mapped
blocks of its index, and the only supervoxels such a block can show for the body are
those its scale-0 children hold (the mode never invents an id). A level-N block is
wholly the body's when all its children exist and the body fills each of them: every
cell is then all body voxels, and its mode one of them.

Bounds are applied here, on block coordinates, so a bounded read never fetches a block
outside them (DVID's ``GetProcessedBlockIndices``: downres, then fit to bounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.geometry import Box, Vec3


@dataclass(frozen=True)
class BodyBlocks:
    """The blocks of one level holding (part of) a body, sorted by ``(z, y, x)``.

    ``present[c]`` lists the body's supervoxels block ``c`` may hold; the blocks in
    ``filled`` are wholly the body's (they need not be read).
    """

    coords: list[Vec3]
    present: dict[Vec3, list[int]]
    filled: frozenset[Vec3]


def body_blocks(
    index: LabelIndex,
    wanted: set[int],
    factor: Vec3,
    block_shape: Vec3,
    within: Box | None = None,
) -> BodyBlocks:
    """The level's blocks holding the supervoxels ``wanted`` of ``index``'s body.

    ``factor`` is the downsampling from scale 0 to the level ((1, 1, 1) for scale 0);
    ``within`` (level voxels) keeps only blocks that meet it.
    """
    fz, fy, fx = factor
    volume = int(np.prod(block_shape))
    children = fz * fy * fx
    present: dict[Vec3, set[int]] = {}
    full_children: dict[Vec3, int] = {}
    for c, counts in index.blocks.items():
        svs = [sv for sv in counts if sv in wanted]
        if not svs:
            continue
        parent = (c[0] // fz, c[1] // fy, c[2] // fx)
        present.setdefault(parent, set()).update(svs)
        if sum(counts[sv] for sv in svs) == volume:
            full_children[parent] = full_children.get(parent, 0) + 1
    coords = sorted(present)
    if within is not None:
        coords = [c for c in coords if block_meets(c, block_shape, within)]
    return BodyBlocks(
        coords,
        {c: sorted(present[c]) for c in coords},
        frozenset(c for c in coords if full_children.get(c, 0) == children),
    )


def block_meets(coord: Vec3, block_shape: Vec3, box: Box) -> bool:
    """Whether block ``coord`` shares a voxel with ``box``."""
    for axis in range(3):
        lo = coord[axis] * block_shape[axis]
        if lo >= box.stop[axis] or lo + block_shape[axis] <= box.start[axis]:
            return False
    return True
