"""Bulk import split into block-aligned tasks: boxes of whole blocks, each one write.

A task is a box of the target volume aligned to its block grid (clipped to where the
source lands), so two tasks never write the same block and any set of tasks can run in
any order or in parallel (later on Dask: :func:`plan_import` lists them,
:func:`run_import_task` runs one, given the target and the source opened in the worker).

Task shape: whole source chunks (a TIFF tile or strip, a zarr chunk), so no chunk is
decoded by two tasks; then, within a byte budget, 2**max_scale blocks across in y and x
so the pyramid blocks above a task are computed from it alone rather than read back and
patched by its neighbours.

Resuming: a task whose box lies inside the volume's extents and whose stored voxels equal
the source's is kept, not rewritten (a write is atomic, so an interrupted import leaves
each task either wholly written or untouched).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from voxhub.client.labels import LabelVolume
from voxhub.client.node import Node
from voxhub.geometry import BlockGrid, Box, Vec3
from voxhub.transfer.sources import Source

#: voxel bytes per task: a task, the next one read ahead and their encodings stay well
#: under the 2 GB an import of any section size may use.
TASK_BYTES = 128 << 20


class Target(Protocol):
    """What an import writes into: a ``Volume`` or a ``LabelVolume``."""

    name: str

    @property
    def node(self) -> Node: ...

    @property
    def block_shape(self) -> Vec3: ...

    @property
    def max_scale(self) -> int: ...

    def write(self, offset: Vec3 | tuple[int, int, int], data: Any) -> None: ...

    def extents(self, scale: int = 0) -> Box | None: ...

    def read(self, box: Box, scale: int = 0) -> np.ndarray: ...


@dataclass(frozen=True)
class ImportTask:
    """Write the source's voxels of ``box`` (target coordinates) less ``offset``."""

    box: Box
    #: where the source's voxel [0, 0, 0] lands in the target
    offset: Vec3

    @property
    def source_box(self) -> Box:
        o = self.offset
        return self.box.translate((-o[0], -o[1], -o[2]))


def task_shape(
    block: Vec3, chunk: Vec3, levels: int, itemsize: int, budget: int = TASK_BYTES
) -> Vec3:
    """Voxels per task (z, y, x), each a power-of-two multiple of the block shape.

    Each axis covers a whole source ``chunk`` when possible; y and x then grow to
    ``2**levels`` blocks (one top-level pyramid block) while the task holds at most
    ``budget`` bytes; over budget, the larger of y and x is halved down to one block.
    """
    size = [_cover(block[a], chunk[a]) for a in range(3)]
    for axis in (1, 2):
        while size[axis] < block[axis] << levels and _nbytes(size, itemsize) * 2 <= budget:
            size[axis] *= 2
    while _nbytes(size, itemsize) > budget:
        axis = max((0, 1, 2), key=lambda a: (size[a] // block[a], a))
        if size[axis] == block[axis]:
            break
        size[axis] //= 2
    return (size[0], size[1], size[2])


def _cover(block: int, chunk: int) -> int:
    size = block
    while size < chunk:
        size *= 2
    return size


def _nbytes(size: list[int], itemsize: int) -> int:
    return size[0] * size[1] * size[2] * itemsize


def plan_import(
    target: Target, source: Source, offset: Vec3, *, budget: int = TASK_BYTES
) -> list[ImportTask]:
    """The tasks that write ``source`` into ``target`` at ``offset``, z-layer by z-layer
    (the order that keeps a TIFF stack's parsed pages hot)."""
    shape = task_shape(
        target.block_shape, source.chunk_shape, target.max_scale, source.dtype.itemsize, budget
    )
    region = Box.from_shape(source.shape, offset)
    return [ImportTask(box, offset) for box in _tiles(region, BlockGrid(shape))]


def _tiles(region: Box, grid: BlockGrid) -> Iterator[Box]:
    for coord in grid.blocks_in(region):
        yield grid.block_box(coord).intersect(region)


def task_blocks(task: ImportTask, block: Vec3) -> int:
    """How many blocks of the target a task writes (in whole or in part)."""
    blocks = BlockGrid(block).block_range(task.box)
    return blocks.size


def read_task(source: Source, task: ImportTask, dtype: np.dtype[Any]) -> np.ndarray:
    """The source's voxels of ``task``, as ``dtype`` (checked lossless beforehand)."""
    return source.read_box(task.source_box).astype(dtype, copy=False)


def already_written(target: Target, task: ImportTask, data: np.ndarray) -> bool:
    """Whether the target holds ``data`` in ``task.box`` already (an earlier run wrote it):
    the box lies inside the extents (so skipping it leaves the extents as a write would)
    and the stored voxels equal ``data``. Labels compare supervoxel ids."""
    extents = target.extents()
    if extents is None or not extents.contains(task.box):
        return False
    if isinstance(target, LabelVolume):
        stored = target.read(task.box, 0, supervoxels=True)
    else:
        stored = target.read(task.box, 0)
    return bool(np.array_equal(stored, data))


def run_import_task(
    target: Target,
    source: Source,
    task: ImportTask,
    dtype: np.dtype[Any],
    *,
    resume: bool = True,
    data: np.ndarray | None = None,
) -> bool:
    """Write one task (``data``: its voxels when already read); ``False`` when ``resume``
    found them stored already and nothing was written."""
    if data is None:
        data = read_task(source, task, dtype)
    if resume and already_written(target, task, data):
        return False
    target.write(task.box.start, data)
    return True
