"""compressed_segmentation computed in numpy from a block's runs in 8³ cell order, byte for byte.

The package's encoder hashes every voxel with the GIL held, and label writes run on a
thread pool: it was what bounded them. Here the block is first copied cell after cell
(each 8³ cell's 512 voxels x fastest, cells x fastest: the stream's own orders), so each
cell is a contiguous stretch of the flat copy and its runs (:class:`LabelRuns`, cut at
cell boundaries) say everything the stream needs:

* a cell covered by one run holds one id: no packed indices, a one-entry table shared
  with the first cell of that id;
* in any other cell, the ids of its runs give its table (sorted ids, so sorted ranks),
  the table's size the bit width (0, 1, 2, 4, 8 or 16 of neuroglancer's widths: 32 needs
  more ids than a cell has), and
  each run's index in the table, repeated over its voxels, the packed indices; a table
  equal to an earlier cell's is referenced where that one wrote it.

The work is a few numpy passes over the block and some over its runs, most of them
outside the GIL. The stream is the package's encoder's, byte for byte (the tests compare
them), so every reader, neuroglancer included, sees no difference. Layout: see
:mod:`voxhub.codecs.cseg_ranked`.
"""

from __future__ import annotations

import numpy as np

from voxhub.codecs.label_runs import LabelRuns, thread_buffer

SUB = 8
CELL = SUB**3
_WORDS_PER_BIT = CELL // 32  # packed-index words per bit of width of one cell
_MAX_TABLE_OFFSET = 1 << 24  # the header's 24-bit field
#: above this many distinct ids in a block, the table of which cell holds which id
#: (cells of several ids x ids, one byte each) would pass 2 MB: encode another way
MAX_LABELS = 4096
#: the largest table each bit width holds, and the widths (a cell has at most 512 ids)
_TABLE_SIZES = np.array([2, 4, 16, 256], np.int64)
_WIDTHS = np.array([1, 2, 4, 8, 16], np.int64)


def cell_grid(shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    """Cells per axis of a ``(z, y, x)`` block, ``None`` unless every side is a
    multiple of 8 (partial cells are left to the package's encoder)."""
    if len(shape) != 3 or any(side <= 0 or side % SUB for side in shape):
        return None
    return shape[0] // SUB, shape[1] // SUB, shape[2] // SUB


def to_cells(block: np.ndarray) -> np.ndarray:
    """``block`` (``(z, y, x)``, sides multiples of 8, any strides) copied cell after cell
    into this thread's reused buffer (valid until this thread's next call), flat."""
    grid = cell_grid(block.shape)
    if grid is None:
        raise ValueError(f"block sides must be multiples of {SUB}, got {block.shape}")
    gz, gy, gx = grid
    out = thread_buffer("cells", (gz, gy, gx, SUB, SUB, SUB), block.dtype.type)
    if block.strides[2] == block.itemsize:
        # an 8-voxel row of x as one item: the copy moves rows, not voxels (2x faster)
        row = np.dtype((np.void, SUB * block.itemsize))
        np.copyto(
            out.view(row).reshape(gz, gy, gx, SUB, SUB),
            block.view(row).reshape(gz, SUB, gy, SUB, gx).transpose(0, 2, 4, 1, 3),
        )
    else:
        np.copyto(out, block.reshape(gz, SUB, gy, SUB, gx, SUB).transpose(0, 2, 4, 1, 3, 5))
    return out.reshape(-1)


def encode_cells(runs: LabelRuns, itemsize: int) -> bytes | None:
    """The one-channel stream of a block (ids of ``itemsize`` bytes: 4 or 8) given as its
    ``runs`` over :func:`to_cells`'s copy, cut at cells (``LabelRuns.of(copy, CELL)``);
    ``None`` (encode another way) past :data:`MAX_LABELS` ids or where a table offset
    outgrows the header's 24 bits (where the package's encoder itself refuses)."""
    nsub = int(np.prod(runs.shape)) // CELL
    if runs.labels.size > MAX_LABELS or nsub == 0:
        return None
    solid = runs.lengths == CELL  # a run of a whole cell is the cell: runs end at cells
    solid_at = runs.starts[solid] // CELL
    solid_rank = runs.rank[solid]
    mixed = _MixedCells.of(runs, ~solid, nsub)
    bits = np.zeros(nsub, np.int64)
    size = np.ones(nsub, np.int64)  # table entries
    fresh = np.zeros(nsub, bool)  # writes its table
    ref = np.arange(nsub)  # the cell whose table each one uses
    bits[mixed.at] = mixed.bits
    size[mixed.at] = mixed.sizes
    fresh[mixed.at] = mixed.writer == np.arange(mixed.at.size)
    ref[mixed.at] = mixed.at[mixed.writer]
    # a one-id cell's table is written by the first cell of that id
    ids, first = np.unique(solid_rank, return_index=True)
    writers = solid_at[first]
    fresh[writers] = True
    ref[solid_at] = writers[np.searchsorted(ids, solid_rank)]
    words = itemsize // 4
    laid = lay_out_cells(bits, size * words, fresh, ref)
    if laid is None:
        return None
    out, values_at, own_table = laid
    body = out[1:]
    entries = runs.labels.astype(f"<u{itemsize}").view("<u4").reshape(-1, words)
    mixed.place(body, values_at, own_table, entries)
    at = own_table[writers]
    for w in range(words):
        body[at + w] = entries[ids, w]
    return out.tobytes()


def lay_out_cells(
    bits: np.ndarray, table_words: np.ndarray, fresh: np.ndarray, ref: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The one-channel stream's words with its cell headers filled in, given each cell's
    index width ``bits``, table size in words, whether it writes its own table
    (``fresh``) and the cell whose table it uses (``ref``); with where each cell's packed
    indices and own table start (in words after the channel word). Each cell's region is
    its packed indices, then its table if fresh. ``None`` where a table offset outgrows
    the header's 24 bits (where the package's encoder itself refuses)."""
    nsub = bits.size
    region = bits * _WORDS_PER_BIT + np.where(fresh, table_words, 0)  # each cell's words
    values_at = np.empty(nsub, np.int64)
    values_at[0] = 2 * nsub  # after the headers
    np.cumsum(region[:-1], out=values_at[1:])
    values_at[1:] += 2 * nsub
    own_table = values_at + bits * _WORDS_PER_BIT
    table_at = own_table[ref]
    if int(table_at.max()) >= _MAX_TABLE_OFFSET:
        return None
    out = np.empty(1 + int(values_at[-1] + region[-1]), np.uint32)
    out[0] = 1  # one channel, starting after this word
    header = out[1 : 1 + 2 * nsub].reshape(nsub, 2)
    header[:, 0] = table_at | (bits << 24)
    header[:, 1] = values_at
    return out, values_at, own_table


class _MixedCells:
    """The cells holding several ids: their tables, widths and packed indices."""

    def __init__(
        self,
        at: np.ndarray,
        present: np.ndarray,
        index: np.ndarray,
        values: np.ndarray,
    ) -> None:
        #: the cells (indices, ascending)
        self.at = at
        #: ``present[i, r]``: cell ``at[i]`` holds the id of rank ``r``
        self.present = present
        #: ``index[i, r]``: that id's index in the cell's table (where present)
        self.index = index
        #: per cell, its 512 voxels' table indices (uint8 when tables fit, else uint32)
        self.values = values
        self.sizes = index[:, -1].astype(np.int64) + 1 if at.size else np.zeros(0, np.int64)
        self.bits = _WIDTHS[np.searchsorted(_TABLE_SIZES, self.sizes)]
        #: per cell, the (row of the) first cell with the same table: it writes it
        self.writer = _first_equal_rows(present)

    @classmethod
    def of(cls, runs: LabelRuns, which: np.ndarray, nsub: int) -> _MixedCells:
        """The cells of the runs ``which`` (those not covering a whole cell)."""
        starts = runs.starts[which]
        cell = starts // CELL
        is_mixed = np.zeros(nsub, bool)
        is_mixed[cell] = True
        (at,) = np.nonzero(is_mixed)
        nlabels = runs.labels.size
        row = (np.cumsum(is_mixed) - 1)[cell]  # each run's cell among the mixed ones
        keys = row * nlabels + runs.rank[which]
        present = np.zeros((at.size, nlabels), bool)
        present.reshape(-1)[keys] = True
        # ranks ascending along a row: a present id's index is how many come up to it
        index = np.cumsum(present, axis=1, dtype=np.int32)
        index -= 1
        run_index = index.reshape(-1)[keys]
        small = at.size == 0 or int(index[:, -1].max()) < 256
        values = np.repeat(run_index.astype(np.uint8 if small else np.uint32), runs.lengths[which])
        return cls(at, present, index, values.reshape(at.size, CELL))

    def place(
        self, body: np.ndarray, values_at: np.ndarray, own_table: np.ndarray, entries: np.ndarray
    ) -> None:
        """Write the packed indices and the fresh tables into the channel's ``body``."""
        if self.at.size == 0:
            return
        by_width = np.argsort(self.bits, kind="stable")
        ends = np.cumsum(np.bincount(self.bits, minlength=_WIDTHS[-1] + 1)).tolist()
        for width in _WIDTHS.tolist():
            rows = by_width[ends[width - 1] : ends[width]]
            if rows.size == 0:
                continue
            values = self.values if rows.size == self.at.size else self.values[rows]
            span = width * _WORDS_PER_BIT
            body[values_at[self.at[rows]][:, None] + np.arange(span)] = _packed(values, width)
        (fresh,) = np.nonzero(self.writer == np.arange(self.at.size))
        row, rank = np.nonzero(self.present[fresh])
        words = entries.shape[1]
        dst = own_table[self.at[fresh]][row] + words * self.index[fresh][row, rank]
        for w in range(words):
            body[dst + w] = entries[rank, w]


def _first_equal_rows(present: np.ndarray) -> np.ndarray:
    """Per row of a bool matrix, the first row equal to it."""
    if present.shape[0] == 0:
        return np.zeros(0, np.int64)
    packed = np.ascontiguousarray(np.packbits(present, axis=1))
    rows = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    result: np.ndarray = first[inverse.reshape(-1)]
    return result


def _packed(values: np.ndarray, width: int) -> np.ndarray:
    """Rows of 512 table indices packed ``width`` bits each, voxel ``i`` at bit ``i *
    width`` of the little-endian words (uint32, ``width * 16`` words per row)."""
    if width == 16:
        return values.astype("<u2").view("<u4")
    small = values.astype(np.uint8, copy=False)
    if width == 8:
        return small.view("<u4")
    if width == 1:
        return np.packbits(small, axis=1, bitorder="little").view("<u4")
    # gather 8 // width indices into each byte, within wider words (one pass each)
    if width == 2:
        w4 = small.view("<u4")
        byte = (w4 & 0x3) | ((w4 >> 6) & 0xC) | ((w4 >> 12) & 0x30) | ((w4 >> 18) & 0xC0)
    else:
        w2 = small.view("<u2")
        byte = (w2 & 0xF) | ((w2 >> 4) & 0xF0)
    return byte.astype(np.uint8).view("<u4")
