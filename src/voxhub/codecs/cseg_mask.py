"""Which voxels of a ``cseg`` block hold one of some labels, read off the compressed form.

``sparsevol`` and ``bbox`` only need a body's voxels as a bool mask. Fully decoding each
block (:class:`~voxhub.codecs.cseg.CsegCodec`) runs the ``compressed_segmentation`` C
decoder, which holds the GIL, and then compares 64³ uint64 ids. Here membership is decided
on the format's own structure with numpy (which releases the GIL, so the block pool's
threads run side by side):

* membership is computed once per uint64 table entry, not per voxel;
* an 8³ sub-block with 0 encoded bits is solid: wholly in or wholly out;
* a sub-block none of whose possible table entries is wanted is wholly out, unread;
* only the remaining sub-blocks have their packed indices unpacked and looked up, into
  one bit per voxel (1- and 2-bit sub-blocks through a table per value byte).

:func:`cseg_member_runs` goes on to ``sparsevol``'s runs along x without the mask: a
voxel row is one uint64, bit per voxel, so runs are found with word-wide bit operations.

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

import functools
import mmap
import threading
from collections.abc import Sequence
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


def _stream_limit(nblocks: int) -> int:
    """The largest bare stream of ``nblocks`` sub-blocks: a header, a full uint64 table
    and 32-bit values for every sub-block."""
    return 4 + nblocks * (8 + _SUB_VOXELS * 8 + _SUB_VOXELS * 4)


def _frame_size(value: bytes | memoryview, limit: int) -> int:
    """The content size a zstd frame's header states, refused unless within ``limit``."""
    try:
        size = zstandard.frame_content_size(value)
    except zstandard.ZstdError as e:
        raise _err(f"corrupt frame header: {e}") from None
    if size < 0 or size > limit:
        raise _err(f"frame claims {size} bytes, more than a block can need")
    return int(size)


def bare_stream(value: bytes | memoryview, nblocks: int) -> bytes:
    """The bare compressed_segmentation stream in a stored ``cseg`` value (its zstd
    frame's content) of ``nblocks`` 8³ sub-blocks, refusing frames larger than any
    well-formed block."""
    limit = _stream_limit(nblocks)
    size = _frame_size(value, limit)
    try:
        bare: bytes = _decompressor().decompress(value, max_output_size=limit)
    except zstandard.ZstdError as e:
        raise _err(f"corrupt data: {e}") from None
    if len(bare) != size:
        raise _err(f"frame decoded to {len(bare)} bytes, header said {size}")
    return bare


def bare_streams_joined(
    values: Sequence[bytes | memoryview], nblocks: int
) -> tuple[np.ndarray, list[int]]:
    """:func:`bare_stream` of many stored values, one after the other in one new uint8
    array, and their sizes: zstd writes them in place (one call on this thread, no copy
    afterwards; against a call on two threads and a join of their outputs, a request's
    64 blocks take 1.35 instead of 1.8 ms of wall and CPU time). Checked as
    :func:`bare_streams_into`. The array may be read-only."""
    if len(values) == 1:  # zstd's one-shot call: the stream reader costs ~20 µs more
        bare = bare_stream(values[0], nblocks)
        return np.frombuffer(bare, np.uint8), [len(bare)]
    sizes = [_frame_size(value, _stream_limit(nblocks)) for value in values]
    out = np.empty(sum(sizes), np.uint8)  # not zeroed: every byte is decoded into
    _decode_frames(values, memoryview(out.data), sizes)
    return out, sizes


def bare_streams_into(
    values: Sequence[bytes | memoryview],
    nblocks: int,
    out: bytearray | mmap.mmap,
    *,
    at: int = 0,
) -> list[int]:
    """:func:`bare_stream` of many stored values, decompressed one after the other into
    ``out`` from byte ``at`` on (``out`` grown if needed, so a caller reusing it pays no
    fresh pages; an ``mmap`` keeps its page alignment); their sizes.
    Frame headers are checked first; zstd then decodes the frames as one stream in one
    call (not a Python round and two GIL hand-offs per frame: with two export threads
    those took an export of 8,192 blocks from ~0.55 to ~0.8 CPU-s), checking that each
    frame fills exactly its stated size and that its trailing checksum (``cseg`` values
    carry one) matches, as on every other read path; together they must fill exactly
    the sizes' sum."""
    limit = _stream_limit(nblocks)
    sizes = [_frame_size(value, limit) for value in values]
    total = sum(sizes)
    if len(out) < at + total:
        if isinstance(out, mmap.mmap):
            out.resize(at + total)
        else:
            out.extend(bytes(at + total - len(out)))
    view = memoryview(out)[at : at + total]
    try:
        _decode_frames(values, view, sizes)
    finally:
        view.release()
    return sizes


def _decode_frames(
    values: Sequence[bytes | memoryview], view: memoryview, sizes: Sequence[int]
) -> None:
    """Decode the zstd frames ``values`` one after the other into ``view`` (exactly
    ``sum(sizes)`` bytes), checking that together they fill it exactly."""
    total = sum(sizes)
    filled = 0
    try:
        frames = b"".join(values)
        with _decompressor().stream_reader(frames, read_across_frames=True) as reader:
            while filled < total:
                got = reader.readinto(view[filled:])
                if not got:
                    raise _err(f"frames decoded to {filled} bytes, their headers said {total}")
                filled += got
            if reader.readinto(bytearray(1)):
                raise _err(f"frames decode to more than the {total} bytes their headers say")
    except zstandard.ZstdError as e:
        raise _err(f"corrupt data: {e}") from None


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


def _shape(block_shape: Vec3) -> tuple[int, int, int]:
    shape = (int(block_shape[0]), int(block_shape[1]), int(block_shape[2]))
    if any(s <= 0 or s % SUB for s in shape):
        raise _err(f"block sides must be positive multiples of {SUB}, got {shape}")
    return shape


def _sub_blocks(
    value: bytes | memoryview, shape: tuple[int, int, int], labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Membership per 8³ sub-block (x fastest, then y, then z): ``inside`` (bool, one per
    sub-block: whether a solid one is wholly in; False for the others), ``mixed`` (the
    sub-blocks that need voxel-level answers) and ``lines`` (uint8 ``(len(mixed), 64)``:
    per mixed sub-block, its 64 x lines of 8 voxels, y then z, one bit per voxel, voxel x
    at bit x)."""
    gz, gy, gx = (s // SUB for s in shape)
    nblocks = gz * gy * gx
    bare = bare_stream(value, nblocks)
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

    lines = np.empty((mixed.size, _SUB_VOXELS // 8), dtype=np.uint8)
    if mixed.size == 0:
        return inside, mixed, lines
    raw = words.view(np.uint8)
    mbits = bits[mixed]
    # room for a 16-entry table at any position a table may start (checked above)
    padded = np.concatenate((member, np.zeros(_TABLE_WORDS * 16, dtype=bool)))
    present = np.bincount(mbits, minlength=_BIT_WIDTHS[-1] + 1)
    for width in _BIT_WIDTHS[1:]:
        if not present[width]:  # skip the empty widths' scans (each call costs µs)
            continue
        (rows,) = np.nonzero(mbits == width)
        which = mixed[rows]
        at = table[which]
        starts = 4 * values[which]
        edge = tight[which]
        if edge.any():  # only these tables could be indexed past the stream's end
            idx = _indices(raw, starts[edge], width)
            last = at[edge] + _TABLE_WORDS * idx.max(axis=1).astype(np.int64)
            if int(last.max()) >= npairs:
                i = int(which[edge][int(np.argmax(last))])
                raise _err(f"sub-block {i}'s lookup table runs past the end of the stream")
        if width <= 4:
            # The membership of a sub-block's (at most 16) entries as the bits of one
            # integer: a voxel's membership is then that integer's bit at its index.
            n = 1 << width
            entries = padded[at[:, None] + _TABLE_WORDS * np.arange(n)]  # (k, n)
            lines[rows] = _small_lines(entries, raw, starts, width)
        else:
            lines[rows] = _wide_lines(member, raw, at, starts, width)
    return inside, mixed, lines


def _small_lines(
    entries: np.ndarray, raw: np.ndarray, starts: np.ndarray, width: int
) -> np.ndarray:
    """Member bits of the 64 x lines of sub-blocks with ``width`` <= 4 bits per voxel:
    the membership of their (at most 16) ``entries`` as the bits of one integer, so a
    voxel's membership is that integer's bit at its index."""
    n = 1 << width
    code = (entries.astype(np.uint16) << np.arange(n, dtype=np.uint16)).sum(axis=1, dtype=np.uint16)
    chunk = raw[starts[:, None] + np.arange(width * (_SUB_VOXELS // 8))]
    return _pack_small(code, chunk, width)


def _wide_lines(
    member: np.ndarray, raw: np.ndarray, at: np.ndarray, starts: np.ndarray, width: int
) -> np.ndarray:
    """Member bits of the 64 x lines of sub-blocks with 8 or more bits per voxel."""
    idx = _indices(raw, starts, width)
    return _pack_lines(member[at[:, None] + _TABLE_WORDS * idx.astype(np.int64)])


def _pack_lines(vox: np.ndarray) -> np.ndarray:
    """``(k, 512)`` 0/1 bytes as ``(k, 64)`` bytes, bit ``i`` of byte ``l`` = voxel
    ``8 l + i``: eight 0/1 bytes read as a little-endian uint64, times ``_GATHER``, carry
    byte ``i`` into bit ``56 + i``."""
    words = np.ascontiguousarray(vox).view("<u8")
    packed: np.ndarray = ((words * _GATHER) >> np.uint64(56)).astype(np.uint8)
    return packed


def _lookup(width: int) -> np.ndarray:
    """Per ``(membership code << 8 | values byte)``: the membership bits of the byte's
    ``8 // width`` voxels, for 1- and 2-bit sub-blocks (whose codes have 2 or 4 bits)."""
    per = 8 // width
    code, byte = np.divmod(np.arange((1 << (1 << width)) << 8), 256)
    out = np.zeros(code.size, dtype=np.uint8)
    for j in range(per):
        index = (byte >> (j * width)) & ((1 << width) - 1)
        out |= (((code >> index) & 1) << j).astype(np.uint8)
    return out


def _pack_small(code: np.ndarray, chunk: np.ndarray, width: int) -> np.ndarray:
    """The packed voxel lines (as :func:`_pack_lines`) of sub-blocks of 1, 2 or 4 bits,
    from their membership codes ``(k,)`` and their value bytes ``(k, width * 64)``."""
    if width == 1:  # a byte holds one voxel line
        one: np.ndarray = _LOOKUP_1[(code[:, None].astype(np.intp) << 8) | chunk]
        return one
    if width == 2:  # a byte holds half a line: low nibble, then high
        half = _LOOKUP_2[(code[:, None].astype(np.intp) << 8) | chunk]
        two: np.ndarray = half[:, 0::2] | (half[:, 1::2] << np.uint8(4))
        return two
    # 4 bits: a byte holds two voxels, a line four bytes
    pair = ((code[:, None] >> (chunk & np.uint8(15))) & 1) | (
        ((code[:, None] >> (chunk >> np.uint8(4))) & 1) << 1
    )
    pair = pair.astype(np.uint8)
    four: np.ndarray = (
        pair[:, 0::4]
        | (pair[:, 1::4] << np.uint8(2))
        | (pair[:, 2::4] << np.uint8(4))
        | (pair[:, 3::4] << np.uint8(6))
    )
    return four


# Times eight 0/1 bytes read as a little-endian uint64, gathers byte i into bit 56 + i.
_GATHER = np.uint64(0x0102040810204080)
_LOOKUP_1 = _lookup(1)
_LOOKUP_2 = _lookup(2)


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
    shape = _shape(block_shape)
    if out is not None and (
        out.shape != shape or out.dtype != np.bool_ or not out.flags.c_contiguous
    ):
        raise ValueError(f"out must be a C-contiguous bool array of shape {shape}")
    inside, mixed, lines = _sub_blocks(value, shape, labels)
    gz, gy, gx = (s // SUB for s in shape)
    # Sub-blocks are x fastest then y then z, voxels likewise. The 8 bools of one x row
    # of a sub-block are written as one uint64 (8x fewer, wider stores): the (z, y, x)
    # mask is viewed as (gz, vz, gy, vy, gx) such rows.
    mask = np.empty(shape, dtype=bool) if out is None else out
    rows64 = mask.view(np.uint64).reshape(gz, SUB, gy, SUB, gx)
    rows64[...] = inside.reshape(gz, 1, gy, 1, gx).astype(np.uint64) * _ONES
    if mixed.size:
        bz, rem = np.divmod(mixed, gy * gx)
        by, bx = np.divmod(rem, gx)
        # unpacked lines hold 0/1 bytes, which are valid bools
        vox = np.unpackbits(lines, axis=1, bitorder="little")
        rows64[bz, :, by, :, bx] = vox.view(np.uint64).reshape(mixed.size, SUB, SUB)
    return mask


_WORD = 64  # voxels per row word: rows at most this long take the bit-parallel path


@functools.lru_cache(maxsize=8)
def _line_bytes(gz: int, gy: int, gx: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the x lines of sub-blocks land in the rows' bytes (``(gz, 8, gy, 8)`` rows
    of 8 bytes): ``first[sub-block] + offset[line]``, line ``(vz, vy)`` as ``8 vz + vy``.
    Cached per grid: it is the same for every block."""
    bz, by, bx = np.unravel_index(np.arange(gz * gy * gx), (gz, gy, gx))
    first = ((bz * SUB) * (gy * SUB) + by * SUB) * SUB + bx
    vz, vy = np.divmod(np.arange(SUB * SUB), SUB)
    offset = (vz * (gy * SUB) + vy) * SUB
    for table in (first, offset):
        table.flags.writeable = False  # shared between threads and calls
    return first, offset


def _bit_runs(head: np.ndarray, tail: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(word, first, last)`` of every run of set bits in some uint64 row words, given
    ``head`` (each run's lowest bit) and ``tail`` (its highest): the word's index and the
    run's first and last bit, in word order then bit order.

    One pass per run of the busiest word, each over the words with runs left: rows hold
    few runs, so this is a handful of passes, mostly over few words."""
    word = np.arange(head.size, dtype=np.int64)
    count = np.ones(head.size, dtype=np.int64)
    passes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    while head.size:
        lo_head = head & (~head + np.uint64(1))  # the lowest set bit, alone
        lo_tail = tail & (~tail + np.uint64(1))
        # a power of two converts to float64 exactly; its exponent is the bit's position
        first = np.frexp(lo_head.astype(np.float64))[1].astype(np.int64) - 1
        last = np.frexp(lo_tail.astype(np.float64))[1].astype(np.int64) - 1
        passes.append((word, first, last))
        head, tail = head ^ lo_head, tail ^ lo_tail
        more = np.flatnonzero(head)
        word, head, tail = word[more], head[more], tail[more]
        count[word] += 1
    if len(passes) <= 1:
        return passes[0] if passes else (word, word, word)
    # pass k holds the k-th run of each word still busy: place it after the word's first k
    at = np.cumsum(count) - count
    total = int(count.sum())
    out = [np.empty(total, np.int64) for _ in range(3)]
    for k, columns in enumerate(passes):
        slots = at[columns[0]] + k
        for dest, column in zip(out, columns, strict=True):
            dest[slots] = column
    return tuple(out)


def _runs_of_mask(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, lengths)`` of the runs of a 2-d bool ``(rows, x)`` mask as flat voxel
    positions, in row-major order (for rows too long for one word)."""
    n, x = mask.shape
    padded = np.zeros((n, x + 2), np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded.ravel())
    starts = np.flatnonzero(step == 1)
    stops = np.flatnonzero(step == -1)
    row = starts // (x + 2)
    return starts - row * 2, stops - starts


def cseg_member_runs(
    value: bytes | memoryview, block_shape: Vec3, labels: np.ndarray, block_start: Vec3
) -> np.ndarray:
    """The runs along x, as int64 rows ``(x, y, z, length)`` sorted by z, then y, then x,
    of the voxels of a stored ``cseg`` uint64 block placed at ``(z, y, x)`` ``block_start``
    whose id is in ``labels``; runs are maximal within the block.

    Equals ``runs_from_mask(cseg_member_mask(value, block_shape, labels), block_start)``
    (and raises :class:`CodecError` on the same streams), without the one-byte-per-voxel
    mask: a voxel row of at most 64 voxels is one uint64, a bit per voxel, assembled a
    byte per sub-block (0x00 or 0xFF for solid sub-blocks, the packed voxel answers for
    mixed ones). Run starts and ends are then bit operations on 4096 words for a 64³
    block, and only the bytes holding a run end are expanded.
    """
    shape = _shape(block_shape)
    oz, oy, ox = (int(block_start[0]), int(block_start[1]), int(block_start[2]))
    inside, mixed, lines = _sub_blocks(value, shape, labels)
    gz, gy, gx = (s // SUB for s in shape)
    nrows = shape[0] * shape[1]
    if shape[2] > _WORD:
        mask = cseg_member_mask(value, shape, labels)  # rare block shape: plain mask
        starts, lengths = _runs_of_mask(mask.reshape(nrows, shape[2]))
        row, start_x = np.divmod(starts, shape[2])
    else:
        # rows[z, y] as 8 bytes, byte bx = voxels 8 bx .. 8 bx + 7 (bit i = voxel 8 bx + i);
        # a row's bytes past its gx sub-blocks stay 0
        solid = np.zeros((gz, gy, _WORD // SUB), np.uint8)
        solid[:, :, :gx] = inside.reshape(gz, gy, gx)
        solid *= np.uint8(0xFF)
        rows = np.empty((gz, SUB, gy, SUB), "<u8")
        rows[...] = solid.view("<u8").reshape(gz, 1, gy, 1)
        if mixed.size:
            # each 8-voxel x line of a mixed sub-block packed into its byte of the rows
            first, offset = _line_bytes(gz, gy, gx)
            rows.view(np.uint8).ravel()[first[mixed, None] + offset] = lines
        flat = rows.ravel()
        # A run starts at a set bit whose lower neighbour is clear and ends (inclusive) at a
        # set bit whose upper neighbour is clear; a row's edges count as clear.
        head = flat & ~(flat << np.uint64(1))
        tail = flat & ~(flat >> np.uint64(1))
        (busy,) = np.nonzero(head)  # every row holding a run start holds its end too
        word, first, last = _bit_runs(head[busy], tail[busy])
        row, start_x = busy[word], first
        lengths = last - first + 1
    z, y = np.divmod(row, shape[1])
    runs: np.ndarray = np.stack((start_x + ox, y + oy, z + oz, lengths), axis=1)
    return runs


def _sub_blocks_many(
    values: list[bytes | memoryview], shape: tuple[int, int, int], labels: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_sub_blocks` of several blocks of one shape in one pass: ``inside`` (one per
    sub-block of every block, block after block), ``mixed`` (indices into it) and their
    ``lines``. The streams are concatenated as words, and every check is made per block
    against its own stream (positions are local to a block until all are checked), so a
    malformed block raises :class:`CodecError` and no block reads another's words."""
    gz, gy, gx = (s // SUB for s in shape)
    nsub = gz * gy * gx
    nb = len(values)
    bares = []
    for value in values:  # decompression and the stream-wide checks: per block, in order
        bare = bare_stream(value, nsub)
        if len(bare) % 4:
            raise _err(f"length {len(bare)} is not a whole number of 32-bit words")
        if len(bare) < 4 * (1 + 2 * nsub):
            raise _err(f"{len(bare)} bytes cannot hold the {nsub} sub-block headers of {shape}")
        if int.from_bytes(bare[:4], "little") != 1:
            raise _err("channel offset is not 1 word (single channel)")
        bares.append(bare)
    sizes = np.array([len(b) // 4 for b in bares], dtype=np.int64)
    base = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    words = np.frombuffer(b"".join(bares), dtype="<u4")

    hpos = base[:, None] + 1 + np.arange(2 * nsub)  # (nb, 2 nsub), inside each block
    headers = words[hpos].reshape(nb, nsub, 2).astype(np.int64)
    table = (headers[..., 0] & 0xFFFFFF) + 1  # word positions local to the block
    bits = headers[..., 0] >> 24
    vals = headers[..., 1] + 1
    nwords = sizes[:, None]
    if not _VALID_BITS[bits].all():
        raise _err("a sub-block claims an invalid number of bits per voxel")
    packed = bits > 0
    first = np.minimum(table.min(axis=1), np.where(packed, vals, nwords).min(axis=1))
    if (first != 1 + 2 * nsub).any():
        raise _err(f"sub-block data does not start at word {1 + 2 * nsub} for {shape}")
    if (table.max(axis=1) + _TABLE_WORDS > sizes).any():
        raise _err("a sub-block's lookup table starts past the end of the stream")
    if (vals + bits * (_SUB_VOXELS // 32) > nwords).any():
        raise _err("a sub-block's encoded values run past the end of the stream")

    # All positions checked: from here on they are global, and each block's uint64
    # positions end at ``pair_end`` (its last word pairs with the next block's first).
    table = (table + base[:, None]).ravel()
    vals = (vals + base[:, None]).ravel()
    bits = bits.ravel()
    packed = packed.ravel()
    pair_end = np.repeat(base + sizes - 1, nsub)  # per sub-block: its block's pair end
    pairs = words[:-1].astype(np.uint64) | (words[1:].astype(np.uint64) << np.uint64(32))
    npairs = pairs.size
    union = np.unique(np.concatenate([np.asarray(x, np.uint64) for x in labels] + [_NONE]))
    if union.size <= 16:
        member = np.zeros(npairs, dtype=bool)
        for label in union:
            member |= pairs == label
    else:
        member = np.isin(pairs, union)
    # Restrict each word's membership to its own block's labels (only where the union
    # matched, which is few words); a union hit past a block's pairs is dropped too.
    (hit,) = np.nonzero(member)
    if hit.size:
        owner = np.searchsorted(base, hit, side="right") - 1
        allowed = np.zeros((nb, union.size), dtype=bool)
        for b, x in enumerate(labels):
            allowed[b, np.searchsorted(union, np.asarray(x, np.uint64))] = True
        keep = allowed[owner, np.searchsorted(union, pairs[hit])]
        keep &= hit < (base + sizes - 1)[owner]
        member[hit[~keep]] = False

    inside = np.zeros(nb * nsub, dtype=bool)
    inside[~packed] = member[table[~packed]]
    counts = np.concatenate(([0], np.cumsum(member, dtype=np.int64)))
    span_end = table + (np.int64(_TABLE_WORDS) << bits)
    tight = span_end > pair_end + 1  # the last possible entry would end past the block
    span_end = np.minimum(span_end, pair_end)
    (mixed,) = np.nonzero(packed & (tight | (counts[span_end] > counts[table])))

    lines = np.empty((mixed.size, _SUB_VOXELS // 8), dtype=np.uint8)
    if mixed.size == 0:
        return inside, mixed, lines
    raw = words.view(np.uint8)
    mbits = bits[mixed]
    present = np.bincount(mbits, minlength=_BIT_WIDTHS[-1] + 1)
    for width in _BIT_WIDTHS[1:]:
        if not present[width]:
            continue
        (rows,) = np.nonzero(mbits == width)
        which = mixed[rows]
        at = table[which]
        limit = pair_end[which]
        starts = 4 * vals[which]
        edge = tight[which]
        if edge.any():  # only these tables could be indexed past their block's end
            idx = _indices(raw, starts[edge], width)
            last = at[edge] + _TABLE_WORDS * idx.max(axis=1).astype(np.int64)
            if (last >= limit[edge]).any():
                raise _err("a sub-block's lookup table runs past the end of the stream")
        if width <= 4:
            n = 1 << width
            pos = at[:, None] + _TABLE_WORDS * np.arange(n)  # (k, n)
            # entries past the block are never indexed (checked above): read as out
            entries = member[np.minimum(pos, npairs - 1)] & (pos < limit[:, None])
            lines[rows] = _small_lines(entries, raw, starts, width)
        else:
            lines[rows] = _wide_lines(member, raw, at, starts, width)
    return inside, mixed, lines


_NONE = np.zeros(0, np.uint64)


def cseg_member_runs_many(
    values: list[bytes | memoryview],
    block_shape: Vec3,
    labels_per_block: list[np.ndarray],
    starts: list[Vec3],
) -> np.ndarray:
    """``np.concatenate`` of :func:`cseg_member_runs` of every block (``values[i]`` with
    ``labels_per_block[i]`` placed at ``starts[i]``), in the given order, computed in one
    vectorised pass over all the blocks: per block that is ~50 small numpy calls, whose
    fixed cost is most of its time. Raises :class:`CodecError` exactly when one of the
    per-block calls would, with that call's message (the first malformed block's)."""
    return _runs_many(values, block_shape, labels_per_block, starts)[0]


def cseg_member_runs_blocks(
    values: list[bytes | memoryview],
    block_shape: Vec3,
    labels_per_block: list[np.ndarray],
    starts: list[Vec3],
) -> list[np.ndarray]:
    """:func:`cseg_member_runs_many`'s runs split per block: item ``i`` equals
    ``cseg_member_runs(values[i], block_shape, labels_per_block[i], starts[i])``."""
    runs, counts = _runs_many(values, block_shape, labels_per_block, starts)
    if not counts.size:  # np.split would still give one (empty) part
        return []
    return np.split(runs, np.cumsum(counts)[:-1])


def _runs_many(
    values: list[bytes | memoryview],
    block_shape: Vec3,
    labels_per_block: list[np.ndarray],
    starts: list[Vec3],
) -> tuple[np.ndarray, np.ndarray]:
    """The runs of all the blocks, and how many belong to each."""
    if not (len(values) == len(labels_per_block) == len(starts)):
        raise ValueError("values, labels_per_block and starts differ in length")
    shape = _shape(block_shape)
    if not values:
        return np.zeros((0, 4), np.int64), np.zeros(0, np.int64)
    if shape[2] > _WORD:  # rare block shape: the per-block mask path
        return _per_block_runs(values, shape, labels_per_block, starts)
    try:
        inside, mixed, lines = _sub_blocks_many(values, shape, labels_per_block)
    except CodecError:
        # Replay block by block so the error is the first bad block's, worded as there.
        return _per_block_runs(values, shape, labels_per_block, starts)
    gz, gy, gx = (s // SUB for s in shape)
    nb, nsub, nrows = len(values), gz * gy * gx, shape[0] * shape[1]
    solid = np.zeros((nb, gz, gy, _WORD // SUB), np.uint8)
    solid[..., :gx] = inside.reshape(nb, gz, gy, gx)
    solid *= np.uint8(0xFF)
    rows = np.empty((nb, gz, SUB, gy, SUB), "<u8")
    rows[...] = solid.view("<u8").reshape(nb, gz, 1, gy, 1)
    if mixed.size:
        first, offset = _line_bytes(gz, gy, gx)
        block, local = np.divmod(mixed, nsub)
        at = block * (nrows * 8) + first[local]
        rows.view(np.uint8).ravel()[at[:, None] + offset] = lines
    flat = rows.ravel()
    # as in cseg_member_runs; every row word is its own row, so blocks never touch
    head = flat & ~(flat << np.uint64(1))
    tail = flat & ~(flat >> np.uint64(1))
    (busy,) = np.nonzero(head)
    word, start_x, last = _bit_runs(head[busy], tail[busy])
    block, row = np.divmod(busy[word], nrows)
    z, y = np.divmod(row, shape[1])
    origin = np.array([[int(s[2]), int(s[1]), int(s[0])] for s in starts], np.int64)[block]
    runs: np.ndarray = np.stack(
        (start_x + origin[:, 0], y + origin[:, 1], z + origin[:, 2], last - start_x + 1), axis=1
    )
    return runs, np.bincount(block, minlength=nb)


def _per_block_runs(
    values: list[bytes | memoryview],
    shape: tuple[int, int, int],
    labels: list[np.ndarray],
    starts: list[Vec3],
) -> tuple[np.ndarray, np.ndarray]:
    parts = [
        cseg_member_runs(v, shape, x, s) for v, x, s in zip(values, labels, starts, strict=True)
    ]
    return np.concatenate(parts), np.array([p.shape[0] for p in parts], np.int64)
