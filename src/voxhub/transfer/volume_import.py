"""Import an array source into a volume, slab by slab, with a progress bar."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3
from voxhub.transfer.sources import Source

if TYPE_CHECKING:
    from voxhub.client.volume import Volume


def import_volume(
    vol: Volume, source: Source, *, offset: Vec3 = (0, 0, 0), progress: bool = True
) -> None:
    """Write ``source`` into ``vol`` with its first voxel at ``offset`` (z, y, x).

    Slabs are one block tall (aligned to the block grid when ``offset`` is), so each write
    replaces whole blocks and memory stays bounded. The source dtype must cast safely to
    the volume's (checked before anything is written).
    """
    if not np.can_cast(source.dtype, vol.dtype, casting="safe"):
        # Refused up front: a range check per slab could fail after earlier slabs landed.
        raise InvalidRequest(
            f"cannot import {source.dtype} data into a {vol.dtype} volume without loss"
        )
    depth = vol.block_shape[0]
    nz = source.shape[0]
    first = -offset[0] % depth or depth  # end the first slab on a block boundary
    bounds = [0, *range(min(first, nz), nz, depth), nz]
    bounds = sorted(set(bounds))
    with tqdm(total=nz, unit="slice", disable=not progress, desc=f"import {vol.name}") as bar:
        for z0, z1 in itertools.pairwise(bounds):
            vol.write((offset[0] + z0, offset[1], offset[2]), source.read(z0, z1))
            bar.update(z1 - z0)
