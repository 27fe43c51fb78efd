"""Which voxels of a ``cseg`` block hold one of some labels, read off the compressed form.

``sparsevol`` and ``bbox`` only need a body's voxels as a bool mask. Fully decoding each
block (:class:`~voxhub.codecs.cseg.CsegCodec`) runs the ``compressed_segmentation`` C
decoder, which holds the GIL, and then compares 64³ uint64 ids. Here membership is decided
on the format's own structure with numpy (which releases the GIL, so the block pool's
threads run side by side):

* membership is computed once per uint64 table entry, not per voxel;
* an 8³ sub-block with 0 encoded bits is solid: wholly in or wholly out;
* a sub-block none of whose possible table entries is wanted is wholly out, unread;
* only the remaining sub-blocks have their packed indices unpacked and looked up.

Layout of the bare stream (uint64 labels, one channel, 8³ encoding blocks, all
little-endian 32-bit words): word 0 is the channel offset (1); then per sub-block, x
fastest then y then z, two header words: ``table offset | bits << 24`` and the values
offset, both in words from the channel start; a table holds uint64 labels as two words
(low, high); values are ``bits``-wide indices into the table packed LSB-first, x fastest
within the sub-block.

Every offset and index is bounds-checked with numpy before it is used, so a malformed
stream raises :class:`CodecError` (never an ``IndexError``, never a bad read).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import zstandard

from voxhub.errors import CodecError
from voxhub.geometry import Vec3

SUB = 8
_SUB_VOXELS = SUB**3
_BIT_WIDTHS = (0, 1, 2, 4, 8, 16, 32)
_TABLE_WORDS = 2  # one uint64 label
_VALID_BITS = np.isin(np.arange(256), _BIT_WIDTHS)  # by the header's 8-bit width field
_ONES = np.uint64(0x0101010101010101)  # eight True bools read as one uint64

_local = threading.local()


def _err(message: str) -> CodecError:
    return CodecError(f"cseg codec: {message}")


def _decompressor() -> Any:
    # zstandard objects are not thread-safe; this runs on the block pool, so one per thread.
    d = getattr(_local, "decompressor", None)
    if d is None:
        d = _local.decompressor = zstandard.ZstdDecompressor()
    return d


def _bare(value: bytes | memoryview, nblocks: int) -> bytes:
    """The zstd frame's content, refusing frames larger than any well-formed block."""
    # header, a full uint64 table and 32-bit values for every sub-block
    limit = 4 + nblocks * (8 + _SUB_VOXELS * 8 + _SUB_VOXELS * 4)
    try:
        size = zstandard.frame_content_size(value)
    except zstandard.ZstdError as e:
        raise _err(f"corrupt frame header: {e}") from None
    if size < 0 or size > limit:
        raise _err(f"frame claims {size} bytes, more than a block can need")
    try:
        bare: bytes = _decompressor().decompress(value, max_output_size=limit)
    except zstandard.ZstdError as e:
        raise _err(f"corrupt data: {e}") from None
    if len(bare) != size:
        raise _err(f"frame decoded to {len(bare)} bytes, header said {size}")
    return bare


def _indices(raw: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """The 512 table indices (x fastest; unsigned, ``width`` rounded up to a byte) of the
    sub-blocks whose values start at byte ``starts`` (checked to lie inside ``raw``), all
    encoded at ``width`` bits."""
    nbytes = width * (_SUB_VOXELS // 8)
    chunk = raw[starts[:, None] + np.arange(nbytes)]  # (k, nbytes)
    if width >= 8:  # whole little-endian integers, one per voxel
        return chunk.view(f"<u{width // 8}")
    if width == 1:
        return np.unpackbits(chunk, axis=1, bitorder="little")
    # voxel j of a byte sits at bits [j*w, (j+1)*w)
    shifts = np.arange(0, 8, width, dtype=np.uint8)
    fields = (chunk[:, :, None] >> shifts) & np.uint8((1 << width) - 1)
    return fields.reshape(starts.size, _SUB_VOXELS)


def cseg_member_mask(
    value: bytes | memoryview,
    block_shape: Vec3,
    labels: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The ``(z, y, x)`` bool mask of the voxels of a stored ``cseg`` uint64 block (the
    ``zstd(compressed_segmentation)`` bytes ``value``) whose id is in ``labels``.

    Equals ``np.isin(CsegCodec().decode(value, block_shape, np.uint64), labels)`` for any
    well-formed block; raises :class:`CodecError` for any malformed one. ``out``, a
    C-contiguous bool array of ``block_shape``, receives the mask (and is returned):
    reusing one spares a fresh 256 KiB allocation, whose page faults cost as much as the
    masking itself.
    """
    shape = (int(block_shape[0]), int(block_shape[1]), int(block_shape[2]))
    if any(s <= 0 or s % SUB for s in shape):
        raise _err(f"block sides must be positive multiples of {SUB}, got {shape}")
    if out is not None and (
        out.shape != shape or out.dtype != np.bool_ or not out.flags.c_contiguous
    ):
        raise ValueError(f"out must be a C-contiguous bool array of shape {shape}")
    gz, gy, gx = (s // SUB for s in shape)
    nblocks = gz * gy * gx
    bare = _bare(value, nblocks)
    if len(bare) % 4:
        raise _err(f"length {len(bare)} is not a whole number of 32-bit words")
    words = np.frombuffer(bare, dtype="<u4")
    nwords = words.size
    if nwords < 1 + 2 * nblocks:
        raise _err(f"{len(bare)} bytes cannot hold the {nblocks} sub-block headers of {shape}")
    if int(words[0]) != 1:
        raise _err(f"channel offset is {int(words[0])} words, expected 1 (single channel)")

    headers = words[1 : 1 + 2 * nblocks].reshape(nblocks, 2).astype(np.int64)
    table = (headers[:, 0] & 0xFFFFFF) + 1  # absolute word positions
    bits = headers[:, 0] >> 24
    values = headers[:, 1] + 1
    bad = ~_VALID_BITS[bits]
    if bad.any():
        i = int(np.argmax(bad))
        raise _err(f"sub-block {i} claims {int(bits[i])} bits per voxel")
    packed = bits > 0
    # Encoders put the first table or values right after the headers; a stream read with
    # the wrong block shape (so the wrong number of headers) is refused here.
    first = int(min(table.min(), values[packed].min(initial=nwords)))
    if first != 1 + 2 * nblocks:
        raise _err(f"sub-block data starts at word {first}, expected {1 + 2 * nblocks} for {shape}")
    # every table has at least its entry 0 (encoders never write an empty one)
    if int(table.max()) + _TABLE_WORDS > nwords:
        raise _err("a sub-block's lookup table starts past the end of the stream")
    overrun = values + bits * (_SUB_VOXELS // 32) > nwords
    if overrun.any():
        i = int(np.argmax(overrun))
        raise _err(f"sub-block {i}'s encoded values run past the end of the stream")

    # member[p]: whether the uint64 starting at word p is wanted. Computed for every word
    # position (tables sit at any word offset); the stream is only a few thousand words.
    want = np.asarray(labels, dtype=np.uint64)
    pairs = words[:-1].astype(np.uint64) | (words[1:].astype(np.uint64) << np.uint64(32))
    if want.size <= 16:  # np.isin's set-up costs more than a few comparisons
        member = np.zeros(pairs.size, dtype=bool)
        for label in want:
            member |= pairs == label
    else:
        member = np.isin(pairs, want)
    npairs = pairs.size

    # Sub-block state: solid ones are decided by their one entry; packed ones whose whole
    # possible table span (2**bits entries, clipped) holds no wanted word are wholly out.
    # Packed ones whose span is clipped by the stream's end are unpacked regardless, so
    # that an index past the end is always caught (the rest cannot overrun).
    inside = np.zeros(nblocks, dtype=bool)
    inside[~packed] = member[table[~packed]]
    counts = np.concatenate(([0], np.cumsum(member, dtype=np.int64)))
    span_end = table + (np.int64(_TABLE_WORDS) << bits)
    tight = span_end > nwords  # the last possible entry would end past the stream
    span_end = np.minimum(span_end, npairs)
    (mixed,) = np.nonzero(packed & (tight | (counts[span_end] > counts[table])))

    # Sub-blocks are x fastest then y then z, voxels likewise. The 8 bools of one x row
    # of a sub-block are written as one uint64 (8x fewer, wider stores): the (z, y, x)
    # mask is viewed as (gz, vz, gy, vy, gx) such rows.
    mask = np.empty(shape, dtype=bool) if out is None else out
    rows64 = mask.view(np.uint64).reshape(gz, SUB, gy, SUB, gx)
    rows64[...] = inside.reshape(gz, 1, gy, 1, gx).astype(np.uint64) * _ONES
    if mixed.size == 0:
        return mask
    raw = words.view(np.uint8)
    vox = np.empty((mixed.size, _SUB_VOXELS), dtype=np.uint8)
    mbits = bits[mixed]
    # room for a 16-entry table at any position a table may start (checked above)
    padded = np.concatenate((member, np.zeros(_TABLE_WORDS * 16, dtype=bool)))
    for width in _BIT_WIDTHS[1:]:
        (rows,) = np.nonzero(mbits == width)
        if rows.size == 0:
            continue
        which = mixed[rows]
        at = table[which]
        idx = _indices(raw, 4 * values[which], width)
        edge = tight[which]
        if edge.any():  # only these tables could be indexed past the stream's end
            last = at[edge] + _TABLE_WORDS * idx[edge].max(axis=1).astype(np.int64)
            if int(last.max()) >= npairs:
                i = int(which[edge][int(np.argmax(last))])
                raise _err(f"sub-block {i}'s lookup table runs past the end of the stream")
        if width <= 4:
            # The membership of a sub-block's (at most 16) entries as the bits of one
            # integer: a voxel's membership is then one shift by its index.
            n = 1 << width
            entries = padded[at[:, None] + _TABLE_WORDS * np.arange(n)]  # (k, n)
            code = (entries.astype(np.uint16) << np.arange(n, dtype=np.uint16)).sum(
                axis=1, dtype=np.uint16
            )
            vox[rows] = (code[:, None] >> idx) & 1
        else:
            vox[rows] = member[at[:, None] + _TABLE_WORDS * idx.astype(np.int64)]
    bz, rem = np.divmod(mixed, gy * gx)
    by, bx = np.divmod(rem, gx)
    # vox holds 0/1 bytes, which are valid bools
    rows64[bz, :, by, :, bx] = vox.view(np.uint64).reshape(mixed.size, SUB, SUB)
    return mask
