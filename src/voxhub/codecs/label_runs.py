"""A label block as its runs of equal ids in C order: what label writes count and encode.

A segmentation block has few runs (≈12,500 in a 64³ block of 2000-cell Voronoi labels,
for 262,144 voxels), so working on runs instead of voxels makes counting a block's
labels and ranking its ids cheap: one comparison pass finds the runs, and
``fastremap.renumber`` numbers their ids in linear time (``np.unique`` sorts them:
≈10x slower).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import fastremap
import numpy as np

_local = threading.local()
#: the largest buffer kept per thread, in elements (blocks up to 128³ keep theirs)
_KEEP_LIMIT = 128**3


def thread_buffer(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A buffer of this thread reused from call to call (contents undefined).

    Label writes make several block-sized temporaries per block; allocated afresh, the
    allocator hands their pages back and takes new ones, and on small VMs touching fresh
    pages costs more than the work done in them (a 512³ write faulted 180,000 pages).
    """
    size = 1
    for side in shape:
        size *= side
    if size > _KEEP_LIMIT:  # a large cutout: not worth keeping per thread
        return np.empty(shape, dtype)
    buffers: dict[str, np.ndarray] | None = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    buf = buffers.get(name)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = buffers[name] = np.empty(size, dtype)
    return buf[:size].reshape(shape)


@dataclass(frozen=True)
class LabelRuns:
    """``block`` as runs: run ``i`` is ``lengths[i]`` voxels of ``labels[rank[i]]``,
    from voxel ``starts[i]`` of the flat block on."""

    shape: tuple[int, ...]
    #: the block's distinct ids, sorted (the block's dtype)
    labels: np.ndarray
    #: per run, the index of its id in ``labels`` (uint32)
    rank: np.ndarray
    #: per run, its voxels (int64)
    lengths: np.ndarray
    #: per run, its first voxel's index in the flat block (int64)
    starts: np.ndarray

    @classmethod
    def of(cls, block: np.ndarray, cell: int = 0) -> LabelRuns:
        """The runs of ``block`` (unsigned integers, any shape), in C order; a block that
        is not C-contiguous is copied first (its runs are found on a flat array: on
        strided views the same comparisons cost 5x more). ``cell``: when positive, runs
        also end every ``cell`` voxels, so none spans two cells of a block stored cell
        after cell (:mod:`voxhub.codecs.cseg_cells`); counts are the same either way."""
        flat = np.ascontiguousarray(block).reshape(-1)
        if flat.size == 0:
            empty = np.zeros(0, np.int64)
            return cls(block.shape, flat[:0].copy(), empty.astype(np.uint32), empty, empty)
        changes = thread_buffer("runs_changes", (flat.size,), np.bool_)
        changes[0] = True
        np.not_equal(flat[1:], flat[:-1], out=changes[1:])
        if cell > 0:
            changes[::cell] = True
        starts = np.flatnonzero(changes)
        lengths = np.empty(starts.size, np.int64)
        np.subtract(starts[1:], starts[:-1], out=lengths[:-1])
        lengths[-1] = flat.size - starts[-1]
        # flat[starts] is a new array: numbered in place
        ids, table = fastremap.renumber(flat[starts], start=0, preserve_zero=False, in_place=True)
        # renumber numbers ids in order of appearance; rank them by value instead.
        keys = np.fromiter(table.keys(), flat.dtype, len(table))
        numbers = np.fromiter(table.values(), np.intp, len(table))
        order = np.argsort(keys)
        rank_of = np.empty(len(keys), np.uint32)
        rank_of[numbers[order]] = np.arange(len(keys), dtype=np.uint32)
        return cls(block.shape, keys[order], rank_of[ids], lengths, starts)

    @property
    def top(self) -> int:
        """The largest id of the block (0 for an empty block)."""
        return int(self.labels[-1]) if self.labels.size else 0

    def counts(self) -> dict[int, int]:
        """``{label: voxels}`` of the block's nonzero labels."""
        voxels = np.bincount(self.rank, weights=self.lengths, minlength=self.labels.size)
        # weights are float64: exact, a block has far fewer than 2**53 voxels
        return {
            label: int(n)
            for label, n in zip(self.labels.tolist(), voxels.tolist(), strict=True)
            if label
        }

    def ranks(self) -> np.ndarray:
        """The block with every id replaced by its index in ``labels`` (uint32, C order),
        in this thread's reused buffer (valid until this thread's next call).

        Each run's first voxel gets the step from the previous run's rank, every other
        voxel 0, and a running sum fills the runs in: 3x faster than ``np.repeat`` with
        a count per run (uint32 steps wrap around, and so does their sum, exactly)."""
        size = int(self.lengths.sum())
        steps = thread_buffer("runs_ranks", (size,), np.uint32)
        if size == 0:
            return steps.reshape(self.shape)
        steps[:] = 0
        steps[0] = self.rank[0]
        steps[self.starts[1:]] = self.rank[1:] - self.rank[:-1]
        return np.cumsum(steps, dtype=np.uint32, out=steps).reshape(self.shape)
