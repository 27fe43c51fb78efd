"""Import an array source into an image or label volume, slab by slab."""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import numpy as np

from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3
from voxhub.transfer.progress import progress_bar
from voxhub.transfer.sources import Source


class Target(Protocol):
    """What an import writes into: a ``Volume`` or a ``LabelVolume``."""

    name: str

    @property
    def block_shape(self) -> Vec3: ...

    def write(self, offset: Vec3 | tuple[int, int, int], data: Any) -> None: ...


def import_volume(
    vol: Target,
    source: Source,
    *,
    offset: Vec3 = (0, 0, 0),
    progress: bool = True,
    dtype: np.dtype[Any] | None = None,
) -> None:
    """Write ``source`` into ``vol`` with its first voxel at ``offset`` (z, y, x).

    Slabs are one block tall (aligned to the block grid when ``offset`` is), so each write
    replaces whole blocks and memory stays bounded. The source dtype must cast safely to
    ``dtype`` (default: the volume's), checked before anything is written; a label import
    (``dtype`` uint64) also takes signed integers after a first pass finds none negative.
    """
    target = np.dtype(dtype if dtype is not None else getattr(vol, "dtype"))  # noqa: B009
    _check_dtype(source, target)
    depth = vol.block_shape[0]
    nz = source.shape[0]
    first = -offset[0] % depth or depth  # end the first slab on a block boundary
    bounds = sorted({0, *range(min(first, nz), nz, depth), nz})
    with progress_bar(nz, f"import {vol.name}", progress) as bar:
        for z0, z1 in itertools.pairwise(bounds):
            slab = source.read(z0, z1)
            vol.write((offset[0] + z0, offset[1], offset[2]), slab.astype(target, copy=False))
            bar.update(z1 - z0)


def _check_dtype(source: Source, target: np.dtype[Any]) -> None:
    """Refuse a lossy import up front: a check per slab could fail after earlier slabs
    landed."""
    if np.can_cast(source.dtype, target, casting="safe"):
        return
    if target.kind == "u" and source.dtype.kind == "i":
        for z in range(0, source.shape[0], 64):
            if source.read(z, min(z + 64, source.shape[0])).min(initial=0) < 0:
                raise InvalidRequest(f"cannot import negative {source.dtype} values as labels")
        return
    raise InvalidRequest(f"cannot import {source.dtype} data into a {target} volume without loss")
