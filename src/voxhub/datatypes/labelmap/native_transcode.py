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

So a block converts on its tables (label lists: :mod:`.sub_block_labels`, once per
distinct table) and its packed bytes: where the widths agree (1, 2, 4 and 8 bits) the
bytes only have their fields reversed with word-wide bit swaps; 4 and 8 bits narrowing to
3 and 5-7 are repacked on whole words; only the other sub-blocks (more than 16 labels, or
sub-blocks whose labels merged into one body) are unpacked and repacked. The body mapping
is applied to the table entries alone. All blocks of a request go through each numpy
step together, so the per-call cost of numpy is paid once per request, not per block,
and every block's bytes are placed in one buffer (rows gathered and scattered whole,
:func:`~.cseg_streams.windows`): the request's answer is gzipped from views of it.

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
from voxhub.datatypes.labelmap import cseg_streams
from voxhub.datatypes.labelmap.cseg_streams import (
    CsegStreams,
    Mapping,
    checked_tables,
    parse_cseg,
    positive_values,
    ranks,
    windows,
)
from voxhub.datatypes.labelmap.native_block import INDEX_BITS, SUB
from voxhub.datatypes.labelmap.sub_block_labels import sub_block_labels
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
    if cseg_streams.COMPILED:  # the same steps as the numpy code here, block by block
        return _compiled_blocks(values, block_shape, mapping)
    return parsed_to_native(parse_cseg(values, block_shape), mapping)


def _compiled_blocks(
    values: Sequence[bytes | memoryview],
    block_shape: tuple[int, int, int],
    mapping: Mapping | None,
) -> NativeBlocks:
    """:func:`native_blocks` by the compiled module: it checks the streams and lists the
    entries of their distinct tables; the labels are ranked (and mapped) here, on the
    distinct ones only; it then writes the blocks."""
    checked = checked_tables(values, block_shape)
    distinct, rank = ranks(checked.labels)
    if mapping is not None:
        distinct, body = ranks(np.asarray(mapping(distinct), np.uint64))
        rank = body[rank]
    data, ends = checked.to_native(rank, distinct)
    return NativeBlocks(np.frombuffer(data, np.uint8), ends)


def parsed_to_native(parsed: CsegStreams, mapping: Mapping | None = None) -> NativeBlocks:
    """:func:`native_blocks` of blocks already parsed (at least one)."""
    gz, gy, gx = parsed.grid
    nsub, nb = gz * gy * gx, parsed.base.size
    count = parsed.count
    if count.max() > _SUB_VOXELS:  # unused entries: a native sub-block lists at most 512
        raise _err(f"a sub-block indexes {int(count.max())} table entries for its 512 voxels")

    # -- label lists of blocks and sub-blocks (table by table) -----------------------------
    lists = sub_block_labels(parsed, mapping)
    block_labels, n_labels, ns, moved = lists.block_labels, lists.n_labels, lists.ns, lists.moved

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
    index_bytes = lists.indices.astype("<u4").view(np.uint8)
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
            (fixed,) = np.nonzero(moved[subs] & (w_of > 0))
            remapped = subs[fixed]
            idx = lists.remapped(remapped, _unpack(chunk_in[fixed], w_in))
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


def _ranks_in_runs(lengths: np.ndarray) -> np.ndarray:
    """``0, 1, ..., n - 1`` for each ``n`` of ``lengths``, concatenated."""
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    within: np.ndarray = np.arange(total) - np.repeat(starts, lengths)
    return within
