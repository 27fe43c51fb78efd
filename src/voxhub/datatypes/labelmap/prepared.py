"""Label blocks made ready for storing before their write's transaction opens.

A block whose new content does not depend on what is stored (a whole block of a write,
any block of ``POST blocks`` or of an ingest) is counted, encoded and reduced for the
pyramid on the block pool before the transaction: the transaction then only puts bytes
and moves indexes (it holds the store's write lock, and may run again), and the write's
largest ids come out of the counting, with no pass of their own over the data.

The work per block is shared: one pass finds the block's runs of equal ids
(:class:`~voxhub.codecs.label_runs.LabelRuns`), which give the label counts, the largest
ids, whether the block is background, and the ranks the cseg encoder is fed
(:mod:`voxhub.codecs.cseg_ranked`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.blocks.pool import parallel_map, scratch
from voxhub.codecs.cseg import CsegCodec
from voxhub.codecs.cseg_cells import CELL, cell_grid, to_cells
from voxhub.codecs.label_runs import LabelRuns
from voxhub.datatypes.labelmap.counters import top_counted_label
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.geometry import Vec3


@dataclass(frozen=True)
class Prepared:
    """One block ready to store."""

    #: the stored value (``None``: all background, the block is deleted)
    value: bytes | None
    #: ``{supervoxel: voxels}`` of the new block
    counts: dict[int, int]
    #: the block reduced by the pyramid's factor (``None``: no pyramid)
    small: np.ndarray | None
    #: the new block's largest id, and the largest the label counter must pass
    top: int
    counted: int
    #: the sorted distinct ids of the new block (what it changes over background)
    labels: np.ndarray


def prepare_blocks(
    layout: BlockLayout,
    source: Callable[[int], np.ndarray],
    count: int,
    factor: Vec3 | None,
) -> list[Prepared]:
    """Prepare ``source(i)`` (the new content of block ``i``, of the layout's block shape
    and dtype; a view is fine) for ``i < count`` on the pool; ``factor``: the pyramid's
    downsample factor, ``None`` without a pyramid."""
    return parallel_map(lambda i: prepare_block(layout, source(i), factor), range(count))


def prepare_block(layout: BlockLayout, data: np.ndarray, factor: Vec3 | None) -> Prepared:
    """Count, encode and reduce one block (see :func:`prepare_blocks`).

    A cseg block is counted and encoded from a copy in 8³ cell order
    (:mod:`voxhub.codecs.cseg_cells`), other codecs' from the block in C order."""
    # a view into a larger write is copied (one pass reading it in order) first: the
    # cell-order copy then reads from cache, 25% faster than straight from the view
    block = _c_order(layout, data)
    codec = layout.codec
    by_cells = isinstance(codec, CsegCodec) and cell_grid(block.shape) is not None
    runs = LabelRuns.of(to_cells(block), CELL) if by_cells else LabelRuns.of(block)
    labels = runs.labels
    value: bytes | None = None  # all background: no value, the block is deleted
    if not (labels.size == 1 and labels[0] == layout.background):
        if not isinstance(codec, CsegCodec):
            value = codec.encode(block)
        elif by_cells:  # else (a rare block of very many ids) through C-order runs
            cells = codec.encode_cells(runs, layout.dtype.itemsize)
            value = cells or codec.encode(block, LabelRuns.of(block))
        else:
            value = codec.encode(block, runs)
    small = downsample_labels(block, factor) if factor is not None else None
    return Prepared(value, runs.counts(), small, runs.top, top_counted_label(labels), labels)


def _c_order(layout: BlockLayout, data: np.ndarray) -> np.ndarray:
    """``data`` C-contiguous in the layout's dtype: itself, or a copy in this thread's
    reused buffer (fresh pages cost more to touch than the copy itself)."""
    if data.flags.c_contiguous and data.dtype == layout.dtype:
        return data
    block = scratch(layout.block_shape, layout.dtype)
    np.copyto(block, data, casting="unsafe")
    return block


def write_tops(prepared: Sequence[Prepared]) -> tuple[int, int]:
    """The largest id of the prepared blocks and the largest the counter must pass."""
    return (
        max((p.top for p in prepared), default=0),
        max((p.counted for p in prepared), default=0),
    )


def change_over_background(layout: BlockLayout, prepared: Prepared) -> set[int] | None:
    """What :func:`~voxhub.datatypes.labelmap.synced.block_change` gives for this block
    written where nothing was stored, without comparing voxels."""
    labels = prepared.labels.tolist()
    if labels in ([], [layout.background]):
        return None
    return {int(layout.background), *labels}
