"""compressed_segmentation of uint64 labels through their uint32 ranks, byte for byte.

Blocks of whole 8³ sub-blocks are encoded in numpy (:mod:`voxhub.codecs.cseg_cells`);
this path serves the others (partial sub-blocks at a volume's edges), callers that have
C-order runs, and blocks of more ids than that path takes. The package's encoder looks
every voxel up in a hash table of the 8³ sub-block's ids, and holds the GIL all along.
On uint32 input it costs about
a third less than on uint64 (1.27 against 1.88 ms for a 64³ block of Voronoi labels). So
a uint64 block is encoded as the uint32 block of its ids' *ranks* (the index of each id
among the block's sorted distinct ids) and the uint32 stream is then widened: each table
entry ``r`` becomes the 64-bit id of rank ``r``, and the offsets move by the table words
added before them. Ranking keeps the ids' order, so every sub-block gets the same sorted
table, bit width, packed indices and shared tables as from the uint64 encoder: the
result *is* what the uint64 encoder writes (tests compare the bytes), so every reader,
neuroglancer included, sees no difference.

Stream layout (neuroglancer's encoder): one offset word per channel (1: one channel),
then per sub-block a header ``(table offset | bits << 24, values offset)``, offsets in
32-bit words from the channel's start; then per sub-block, in order, its packed indices
(``bits * 16`` words for 512 voxels) followed by its table if that table is new (a table
already written is referenced where it was first written).
"""

from __future__ import annotations

import compressed_segmentation as _cs  # type: ignore[import-not-found]  # no stubs
import numpy as np

from voxhub.codecs.cseg_cells import lay_out_cells
from voxhub.codecs.label_runs import LabelRuns, thread_buffer

SUB = 8
_WORDS_PER_BIT = SUB**3 // 32  # packed-index words per bit of width of one sub-block
_MAX_TABLE_OFFSET = 1 << 24  # the header's 24-bit field
#: above this share of voxels starting a run (noise, not segmentation), ranking runs is
#: no cheaper than hashing voxels: the uint64 encoder is used directly.
_MAX_RUN_SHARE = 8


def encode_uint64(block: np.ndarray, runs: LabelRuns | None = None) -> bytes:
    """``compressed_segmentation.compress`` of a ``(z, y, x)`` uint64 ``block`` (native
    byte order, any strides; 8³ sub-blocks, x fastest), computed through the ranks of its
    ids (``runs``: the block's :class:`LabelRuns` when the caller has them)."""
    runs = runs if runs is not None else LabelRuns.of(block)
    if block.size >= 2**32 or runs.lengths.size * _MAX_RUN_SHARE > block.size:
        return _compress(np.ascontiguousarray(block))
    ranks = runs.ranks()
    if all(side % SUB == 0 for side in block.shape):
        wide = _encode_mixed(ranks, runs.labels)
    else:
        wide = _widen(_compress(ranks), runs.labels, _sub_blocks(block.shape))
    return wide if wide is not None else _compress(np.ascontiguousarray(block))


def _compress(block: np.ndarray) -> bytes:
    # C-contiguous: the package takes its strides from the shape.
    # (z, y, x) C order == (x, y, z) Fortran order: what the package calls order='F'.
    data: bytes = _cs.compress(block.T, block_size=(SUB, SUB, SUB), order="F")
    return data


def _sub_blocks(shape: tuple[int, ...]) -> int:
    n = 1
    for side in shape:
        n *= -(-side // SUB)
    return n


def _widen(narrow: bytes, labels: np.ndarray, nsub: int) -> bytes | None:
    """The uint64 stream of ``narrow`` (a one-channel uint32 stream whose table entries
    index ``labels``); ``None`` if a table offset outgrows the header's 24 bits (where
    the uint64 encoder itself refuses)."""
    words = np.frombuffer(narrow, "<u4")
    data = words[1:]  # channel 0: offsets count from here
    head = data[: 2 * nsub].reshape(nsub, 2).astype(np.int64)
    table, bits, values = head[:, 0] & 0xFFFFFF, head[:, 0] >> 24, head[:, 1]
    # A table written with its sub-block starts right after the packed indices and ends
    # where the next sub-block's indices start; a shared one points further back.
    fresh = table == values + bits * _WORDS_PER_BIT
    starts = table[fresh]
    ends = np.append(values[1:], data.size)[fresh]
    # table words before each fresh table: every offset moves by as many words
    before = np.concatenate(([0], np.cumsum(ends - starts)))
    new_table = table + before[np.searchsorted(starts, table)]
    if new_table.size and int(new_table.max()) >= _MAX_TABLE_OFFSET:
        return None
    new_values = values + before[np.searchsorted(starts, values)]
    edges = np.zeros(data.size + 1, np.int64)
    edges[starts] += 1
    edges[ends] -= 1
    in_table = np.cumsum(edges[:-1]).astype(bool)
    moved = np.arange(data.size) + (np.cumsum(in_table) - in_table)  # new word offsets
    out = np.empty(1 + data.size + int(before[-1]), np.uint32)
    out[0] = words[0]
    body = out[1:]
    plain = ~in_table
    body[moved[plain]] = data[plain]
    pairs = labels.astype("<u8").view("<u4").reshape(-1, 2)  # (low, high) word of each id
    entries = data[in_table]
    at = moved[in_table]
    body[at] = pairs[entries, 0]
    body[at + 1] = pairs[entries, 1]
    header = body[: 2 * nsub].reshape(nsub, 2)
    header[:, 0] = new_table | (bits << 24)
    header[:, 1] = new_values
    return out.tobytes()


def _encode_mixed(ranks: np.ndarray, labels: np.ndarray) -> bytes | None:
    """The uint64 stream of a block given as its ``ranks`` (uint32, sides multiples of 8)
    and sorted ``labels``, with only the sub-blocks holding two ids or more through the
    package's encoder; ``None`` where a table offset outgrows 24 bits.

    A sub-block of one id costs the encoder a hash lookup per voxel like any other, yet
    its encoding is fixed: no packed indices, a one-entry table, shared with the first
    sub-block of the same id. Segmentations have many (46% of the 64³ Voronoi
    benchmark's): those are written here, and the others are encoded together as one
    column of sub-blocks, whose packed indices and tables are then moved into place
    (sub-blocks in order, each one's indices then its table if new), widened as in
    :func:`_widen`. Tables of one id never equal those of two or more, so sharing
    works out the same as in one pass of the encoder.
    """
    gz, gy, gx = (side // SUB for side in ranks.shape)
    nsub = gz * gy * gx
    # one row per sub-block, sub-blocks and their voxels x fastest (the stream's orders)
    sub = thread_buffer("cseg_sub_blocks", (nsub, SUB**3), np.uint32)
    np.copyto(
        sub.reshape(gz, gy, gx, SUB, SUB, SUB),
        ranks.reshape(gz, SUB, gy, SUB, gx, SUB).transpose(0, 2, 4, 1, 3, 5),
    )
    first = sub[:, 0].copy()
    same = thread_buffer("cseg_same", (nsub, SUB**3), np.bool_)
    np.equal(sub, first[:, None], out=same)
    mixed = ~same.all(axis=1)
    (mixed_at,) = np.nonzero(mixed)
    k = mixed_at.size
    bits = np.zeros(nsub, np.int64)
    size = np.ones(nsub, np.int64)  # table entries
    fresh = np.zeros(nsub, bool)
    ref = np.arange(nsub)  # the sub-block whose table each one uses
    if k:
        narrow = np.frombuffer(_compress(_rows(sub, mixed_at).reshape(k * SUB, SUB, SUB)), "<u4")
        data = narrow[1:]
        head = data[: 2 * k].reshape(k, 2).astype(np.int64)
        t_r, b_r, v_r = head[:, 0] & 0xFFFFFF, head[:, 0] >> 24, head[:, 1]
        f_r = t_r == v_r + b_r * _WORDS_PER_BIT
        starts = t_r[f_r]
        sizes = np.append(v_r[1:], data.size)[f_r] - starts
        bits[mixed_at] = b_r
        fresh[mixed_at] = f_r
        size[mixed_at[f_r]] = sizes
        writer = mixed_at[f_r]  # global index of each fresh mixed table's sub-block
        ref[mixed_at] = writer[np.searchsorted(starts, t_r)]
    (solid_at,) = np.nonzero(~mixed)
    if solid_at.size:
        # a one-id sub-block's table is written by the first sub-block of that id
        ids, first_at = np.unique(first[solid_at], return_index=True)
        writers = solid_at[first_at]
        fresh[writers] = True
        ref[solid_at] = writers[np.searchsorted(ids, first[solid_at])]
    laid = lay_out_cells(bits, 2 * size, fresh, ref)  # uint64 entries: 2 words each
    if laid is None:
        return None
    out, values_off, own_table = laid
    body = out[1:]
    pairs = labels.astype("<u8").view("<u4").reshape(-1, 2)
    if k:  # packed indices, then the tables they wrote
        lens = b_r * _WORDS_PER_BIT
        n_words = int(lens.sum())
        if n_words:
            cum = np.zeros(k, np.int64)
            np.cumsum(lens[:-1], out=cum[1:])
            step = np.arange(n_words) - np.repeat(cum, lens)
            src = np.repeat(v_r, lens) + step
            dst = np.repeat(values_off[mixed_at], lens) + step
            body[dst] = data[src]
        n_entries = int(sizes.sum())
        cum = np.zeros(sizes.size, np.int64)
        np.cumsum(sizes[:-1], out=cum[1:])
        step = np.arange(n_entries) - np.repeat(cum, sizes)
        r = data[np.repeat(starts, sizes) + step]
        dst = np.repeat(own_table[writer], sizes) + 2 * step
        body[dst] = pairs[r, 0]
        body[dst + 1] = pairs[r, 1]
    if solid_at.size:
        at = own_table[writers]
        body[at] = pairs[ids, 0]
        body[at + 1] = pairs[ids, 1]
    return out.tobytes()


def _rows(sub: np.ndarray, which: np.ndarray) -> np.ndarray:
    """``sub[which]`` in this thread's reused buffer."""
    out = thread_buffer("cseg_mixed", (which.size, sub.shape[1]), np.uint32)
    np.take(sub, which, axis=0, out=out)
    return out
