"""Stored ``cseg`` label blocks straight to DVID's native block format, many at once.

``GET blocks?compression=blocks`` and ``specificblocks`` send DVID's native serialization
(:mod:`.native_block`). Decoding each stored block to 64³ uint64 voxels, mapping them to
bodies and re-encoding cost ≈17 ms a block; but the stored form is already almost the
native one. Both formats cut a block into 8³ sub-blocks, numbered x fastest, each with a
small table of labels and per-voxel indices into it, x fastest:

* compressed_segmentation tables hold uint64 labels (the encoder writes each sub-block's
  distinct labels, ascending); native sub-blocks list indices into one block-wide label
  list, ascending by label;
* compressed_segmentation packs indices at 0/1/2/4/8/16 bits, LSB first in little-endian
  words; native packs them at ``ceil(log2(n))`` bits, MSB first.

So a block converts on its tables (a few hundred entries) and its packed bytes: where the
widths agree (1, 2, 4 and 8 bits) the bytes only have their fields reversed, through a
256-entry table; only the other sub-blocks (5-8 or more than 16 labels, or sub-blocks
whose labels merged into one body) are unpacked and repacked. The body mapping is applied
to the table entries alone. All blocks of a request go through each numpy step together,
so the per-call cost of numpy is paid once per request, not per block.

The output is byte for byte what ``encode_native`` gives for the decoded (and mapped)
block, for any stream the ``compressed_segmentation`` encoder wrote (tables ascending and
all used); for other well-formed streams it decodes to the same voxels. Malformed streams
raise :class:`~voxhub.errors.CodecError`, checked before any position is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.codecs.cseg import CsegCodec
from voxhub.datatypes.labelmap.cseg_streams import (
    Mapping,
    parse_cseg,
    positive_values,
    ranks,
    windows,
)
from voxhub.datatypes.labelmap.native_block import INDEX_BITS, SUB
from voxhub.errors import CodecError

_SUB_VOXELS = SUB**3
_HEADER = 16  # gx, gy, gz, number of labels: uint32 each


def _err(message: str) -> CodecError:
    return CodecError(f"cseg to native: {message}")


# Swapping neighbours of 1, 2, then 4 bits reverses the bits of every byte; the swaps
# from ``w`` bits up reverse the order of its ``w``-bit fields (keeping each field's bits).
_SWAPS = [(1, 0x5555555555555555), (2, 0x3333333333333333), (4, 0x0F0F0F0F0F0F0F0F)]


def _reverse_fields(chunk: np.ndarray, width: int) -> np.ndarray:
    """Packed bytes from compressed_segmentation's order (voxel ``j`` of a byte at bits
    ``j*w``) to native's (the first voxel in the high bits), in place, on uint64 words."""
    x = chunk.view(np.uint64)
    tmp = np.empty_like(x)
    for shift, mask in _SWAPS:
        if shift >= width:
            s, m = np.uint64(shift), np.uint64(mask)
            np.right_shift(x, s, out=tmp)
            tmp &= m
            x &= m
            x <<= s
            x |= tmp
    return chunk


def _unpack(chunk: np.ndarray, width: int) -> np.ndarray:
    """The 512 indices (x fastest) of sub-blocks from their packed bytes ``chunk``
    (``(k, 64 * width)``, LSB first) as ``(k, 512)`` unsigned integers."""
    if width >= 8:
        return chunk.view(f"<u{width // 8}")
    per_byte = 8 // width
    mask = np.uint8((1 << width) - 1)
    fields = np.empty((chunk.shape[0], chunk.shape[1], per_byte), np.uint8)
    # one pass per field position, each over whole contiguous rows (a broadcast over a
    # last axis of 2-8 runs numpy's inner loop that many elements at a time: 5x slower)
    for j in range(per_byte):
        np.bitwise_and(chunk >> np.uint8(j * width), mask, out=fields[:, :, j])
    return fields.reshape(chunk.shape[0], _SUB_VOXELS)


def _narrow(chunk: np.ndarray, w_in: int, w_out: int) -> np.ndarray:
    """Packed bytes ``chunk`` (``(k, 64 * w_in)``, LSB first) whose indices all fit in
    ``w_out < w_in`` bits, repacked MSB first at ``w_out`` bits without unpacking:
    eight indices are one ``w_in * 8``-bit word in, ``w_out`` bytes out (4 bits to 3,
    8 bits to 5-7: sub-blocks of 5-8 or 17-128 labels)."""
    k = chunk.shape[0]
    words = chunk.view("<u4" if w_in == 4 else "<u8").ravel()
    acc_type = words.dtype.type
    mask = acc_type((1 << w_out) - 1)
    acc = np.zeros_like(words)
    field = np.empty_like(words)
    for j in range(8):
        np.right_shift(words, acc_type(j * w_in), out=field)
        field &= mask
        field <<= acc_type(w_out * (7 - j))
        acc |= field
    size = acc.dtype.itemsize
    big = acc.astype(f">u{size}").view(np.uint8).reshape(-1, size)
    return big[:, size - w_out :].reshape(k, w_out * (_SUB_VOXELS // 8))


def _pack_msb(local: np.ndarray, width: int) -> np.ndarray:
    """``(k, 512)`` indices packed MSB first at ``width`` bits: ``(k, 64 * width)`` bytes.

    Up to 8 bits, eight indices make ``width`` bytes: they are shifted into one uint64
    and its low ``width`` bytes taken big-endian; 9 bits go through single bits."""
    k = local.shape[0]
    if width > 8:
        shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
        bits = ((local.astype(np.int64)[:, :, None] >> shifts) & 1).astype(np.uint8)
        packed: np.ndarray = np.packbits(bits.reshape(k, _SUB_VOXELS * width), axis=1)
        return packed
    eights = local.astype(np.uint64).reshape(k, _SUB_VOXELS // 8, 8)
    acc = eights[:, :, 7].copy()
    for j in range(7):  # eight slices: a reduction over a short last axis is slow
        acc |= eights[:, :, j] << np.uint64(width * (7 - j))
    big = acc.astype(">u8").view(np.uint8).reshape(k, _SUB_VOXELS // 8, 8)
    return big[:, :, 8 - width :].reshape(k, width * (_SUB_VOXELS // 8))


def is_cseg_labels(layout: BlockLayout) -> bool:
    """Whether ``layout`` stores uint64 labels as ``cseg`` (what :func:`cseg_to_native`
    converts)."""
    return isinstance(layout.codec, CsegCodec) and layout.dtype == np.uint64


def cseg_to_native(
    values: Sequence[bytes | memoryview],
    block_shape: tuple[int, int, int],
    mapping: Mapping | None = None,
) -> list[bytes]:
    """The native serialization of every stored ``cseg`` uint64 block in ``values``
    (blocks of ``block_shape``, ``(z, y, x)``, sides multiples of 8), with every label
    replaced by ``mapping(label)`` when given."""
    return [bytes(view) for view in native_blocks(values, block_shape, mapping).views()]


@dataclass
class NativeBlocks:
    """Native serializations of many blocks, back to back in one buffer."""

    data: np.ndarray  # uint8
    ends: list[int]  # where each block's bytes end in ``data``

    def views(self) -> list[memoryview]:
        """Each block's bytes, as views of :attr:`data` (no copies)."""
        whole = memoryview(self.data.data)
        starts = [0, *self.ends[:-1]]
        return [whole[a:b] for a, b in zip(starts, self.ends, strict=True)]


def native_blocks(
    values: Sequence[bytes | memoryview],
    block_shape: tuple[int, int, int],
    mapping: Mapping | None = None,
) -> NativeBlocks:
    """:func:`cseg_to_native`, all blocks in one buffer."""
    if not values:
        return NativeBlocks(np.zeros(0, np.uint8), [])
    parsed = parse_cseg(values, block_shape)
    gz, gy, gx = parsed.grid
    nsub, nb = gz * gy * gx, len(values)
    count = parsed.count
    if count.max() > _SUB_VOXELS:  # unused entries: a native sub-block lists at most 512
        raise _err(f"a sub-block indexes {int(count.max())} table entries for its 512 voxels")

    # -- table entries, mapped ---------------------------------------------------------------
    sub_of, at, labels = parsed.entries()
    total, first_entry = sub_of.size, parsed.first_entry
    distinct, which_label = ranks(labels)
    if mapping is not None:
        distinct, body_of = ranks(np.asarray(mapping(distinct), np.uint64))
        which_label = body_of[which_label]
    block_labels, n_labels, in_block = _block_ranks(sub_of // nsub, which_label, nb, distinct)

    # -- each sub-block's distinct labels, ascending, and each entry's rank among them -----
    # labels as ranks among the distinct ones: sort keys (sub-block, label) fit one int64
    key = sub_of * np.int64(distinct.size) + which_label
    unordered = key[1:] <= key[:-1]  # an entry not above the one before, in its sub-block
    local, ns, moved, sb_indices = at, count, None, in_block
    if unordered.any():
        # tables the mapping reordered, or where bodies merged (a label twice): only these
        # sub-blocks are sorted and deduplicated; every other entry stays where it is
        local, ns, moved, keep, order = _reorder(sub_of, at, count, key, unordered)
        sb_indices = in_block[order][keep]  # per sub-block its labels ascending, in order
    # -- where everything goes: per block header, labels, counts, indices, packed ---------
    width_out = INDEX_BITS[ns]
    nbytes_out = width_out * (_SUB_VOXELS // 8)
    packed_at = np.cumsum(nbytes_out) - nbytes_out  # within all blocks' packed bytes
    n_indices = ns.reshape(nb, nsub).sum(axis=1)
    n_packed = nbytes_out.reshape(nb, nsub).sum(axis=1)
    many = n_labels > 1  # one label: the header and the label are the whole block
    sizes = _HEADER + 8 * n_labels + many * (2 * nsub + 4 * n_indices + n_packed)
    ends = np.cumsum(sizes)
    labels_at = ends - sizes + _HEADER
    counts_at = labels_at + 8 * n_labels
    indices_at = counts_at + 2 * nsub
    packed_start = indices_at + 4 * n_indices
    out = np.empty(int(ends[-1]), np.uint8)

    head = np.zeros((nb, 4), "<u4")
    head[:, :3] = (gx, gy, gz)
    head[:, 3] = n_labels
    windows(out, _HEADER)[labels_at - _HEADER] = head.view(np.uint8)
    label_pos = np.repeat(labels_at, n_labels) + 8 * _ranks_in_runs(n_labels)
    windows(out, 8)[label_pos] = block_labels.astype("<u8").view(np.uint8).reshape(-1, 8)
    counts = ns.reshape(nb, nsub)[many].astype("<u2")
    windows(out, 2 * nsub)[counts_at[many]] = counts.view(np.uint8)
    index_bytes = sb_indices.astype("<u4").view(np.uint8)
    index_from = 4 * (np.cumsum(n_indices) - n_indices)
    for b in np.flatnonzero(many).tolist():  # one contiguous copy per block
        a, n = int(indices_at[b]), 4 * int(n_indices[b])
        out[a : a + n] = index_bytes[index_from[b] : index_from[b] + n]

    # -- packed voxel indices, group by group of (width in, width out) -----------------------
    # each sub-block's packed bytes go to its block's packed part, at its offset there
    dest = np.repeat(packed_start - packed_at[::nsub], nsub) + packed_at
    for w_in, (subs, chunk_in) in parsed.chunks.items():
        w_of = width_out[subs]
        if moved is not None:  # unpacked before the conversions below reverse chunk_in
            (rows,) = np.nonzero(moved[subs] & (w_of > 0))
            remapped = subs[rows]
            idx = local[first_entry[remapped][:, None] + _unpack(chunk_in[rows], w_in)]
        for w_out in positive_values(w_of).tolist():
            rows = None if (w_of == w_out).all() else np.flatnonzero(w_of == w_out)
            which = subs if rows is None else subs[rows]
            chunk = chunk_in if rows is None else chunk_in[rows]
            # (sub-blocks whose entries moved get these bytes too, then their own below:
            # fewer copies than setting them apart first)
            if w_in == w_out:
                converted = chunk if w_in == 8 else _reverse_fields(chunk, w_in)
            elif w_in in (4, 8):
                converted = _narrow(chunk, w_in, w_out)
            else:
                converted = _pack_msb(_unpack(chunk, w_in), w_out)
            windows(out, w_out * (_SUB_VOXELS // 8))[dest[which]] = converted
        if moved is not None:
            for w_out in positive_values(width_out[remapped]).tolist():
                group = width_out[remapped] == w_out
                converted = _pack_msb(idx[group], w_out)
                windows(out, w_out * (_SUB_VOXELS // 8))[dest[remapped[group]]] = converted
    return NativeBlocks(out, ends.tolist())


def _reorder(
    sub_of: np.ndarray, at: np.ndarray, count: np.ndarray, key: np.ndarray, unordered: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For entries (sub-block ``sub_of``, position ``at``) with sort keys ``key`` (sub-block,
    label), of which ``unordered[i - 1]`` tells entry ``i`` is not above its predecessor:
    each entry's rank among its sub-block's distinct labels, each sub-block's number of
    them and whether any of its entries changed position, which entries start a distinct
    label (``keep``) and the order that sorts the entries (sub-block, label)."""
    touched = np.zeros(count.size, bool)
    touched[sub_of[1:][unordered]] = True
    (mine,) = np.nonzero(touched[sub_of])  # the entries of those sub-blocks, in order
    sorted_mine = mine[np.argsort(key[mine], kind="stable")]
    k = key[sorted_mine]
    new = np.ones(k.size, bool)
    new[1:] = k[1:] != k[:-1]
    rank = np.cumsum(new) - 1
    sub = sub_of[sorted_mine]
    starts = np.ones(k.size, bool)
    starts[1:] = sub[1:] != sub[:-1]
    run = np.cumsum(starts) - 1
    local = at.copy()
    local[sorted_mine] = rank - rank[starts][run]
    ns = count.copy()
    ns[sub[starts]] = np.bincount(run[new], minlength=int(run[-1]) + 1)
    moved = np.zeros(count.size, bool)
    moved[sub_of[mine][local[mine] != at[mine]]] = True
    order = np.arange(sub_of.size)
    order[mine] = sorted_mine
    keep = np.ones(sub_of.size, bool)
    keep[mine] = new
    return local, ns, moved, keep, order


def _ranks_in_runs(lengths: np.ndarray) -> np.ndarray:
    """``0, 1, ..., n - 1`` for each ``n`` of ``lengths``, concatenated."""
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    ranks: np.ndarray = np.arange(total) - np.repeat(starts, lengths)
    return ranks


def _block_ranks(
    block: np.ndarray, label: np.ndarray, nb: int, distinct: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per block its distinct labels ascending (all blocks' lists concatenated) and how
    many, and per entry (``block[i]``, ``label[i]`` a rank in ``distinct``) its label's
    rank in its block's list. A presence table of blocks × labels when that is small
    (typical: a few hundred blocks sharing a few thousand labels), else a sort."""
    nd = distinct.size
    if nb * nd <= max(1 << 20, 8 * block.size):
        present = np.zeros((nb, nd), bool)
        present[block, label] = True
        ranks = np.cumsum(present, axis=1, dtype=np.int64)
        _, cols = np.nonzero(present)
        return distinct[cols], ranks[:, -1], ranks[block, label] - 1
    order = np.argsort(block * np.int64(nd) + label, kind="stable")
    b_blk, b_lab = block[order], label[order]
    new = np.ones(block.size, bool)
    new[1:] = (b_blk[1:] != b_blk[:-1]) | (b_lab[1:] != b_lab[:-1])
    rank = np.cumsum(new) - 1
    first = rank[np.searchsorted(b_blk, np.arange(nb))]
    in_block = np.empty(block.size, np.int64)
    in_block[order] = rank - first[b_blk]
    return distinct[b_lab[new]], np.bincount(b_blk[new], minlength=nb), in_block
