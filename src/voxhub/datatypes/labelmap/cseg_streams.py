"""Stored ``cseg`` label blocks parsed on their compressed form, many at once.

A stored ``cseg`` value is ``zstd(compressed_segmentation)`` (:mod:`voxhub.codecs.cseg`):
per 8³ sub-block, numbered x fastest, a header (table offset | bits << 24, values
offset), a table of uint64 labels and ``bits``-wide indices into it, LSB first in
little-endian words. The format does not record a table's length: it is the largest
index the sub-block's voxels use, plus one, read off the packed bytes (one short numpy
pass per bit width, not per voxel for solid sub-blocks).

:func:`parse_cseg` decompresses the streams of many blocks one after the other into one
buffer (:func:`~voxhub.codecs.cseg_mask.bare_streams_joined`) and checks them, so that
later steps run once over all their sub-blocks (packed rows are gathered whole through
:func:`windows`); every offset and index is checked against its own block's stream
before use, and malformed streams raise :class:`~voxhub.errors.CodecError`.
:func:`map_cseg` rewrites one block's tables through a label mapping (supervoxels to
bodies) and returns the bare stream: the voxels keep their indices, so mapping a stored
block costs its tables, not its voxels (:func:`map_streams` does so for many parsed
blocks at once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import fastremap
import numpy as np

from voxhub.codecs.cseg_mask import bare_streams_joined
from voxhub.errors import CodecError

try:
    from voxhub.codecs import _cseg_native
except ImportError:  # installed where no C compiler was found: numpy does it all, alike
    _cseg_native = None  # type: ignore[assignment]

#: whether the compiled module (``voxhub/codecs/_cseg_native.c``) checks the streams and
#: converts them (:func:`map_cseg`, :func:`~.native_transcode.native_blocks`), or numpy
COMPILED = _cseg_native is not None

SUB = 8
_SUB_VOXELS = SUB**3
_VALID_BITS = np.isin(np.arange(256), (0, 1, 2, 4, 8, 16, 32))

#: ``mapping(sorted distinct labels) -> their bodies`` (uint64 arrays of one length)
Mapping = Callable[[np.ndarray], np.ndarray]


def _err(message: str) -> CodecError:
    return CodecError(f"cseg stream: {message}")


@dataclass
class CsegStreams:
    """The checked streams of ``nb`` blocks of one shape, concatenated as ``words``;
    per sub-block of every block (block after block, sub-blocks x fastest): its table's
    and values' word positions in ``words``, its bits per voxel and table length."""

    grid: tuple[int, int, int]  # sub-blocks per axis, (z, y, x)
    words: np.ndarray
    base: np.ndarray  # first word of each block's stream
    sizes: np.ndarray  # words of each block's stream
    table: np.ndarray
    bits: np.ndarray
    vals: np.ndarray
    count: np.ndarray
    #: per bit width: (the sub-blocks packed at that width, their packed bytes)
    chunks: dict[int, tuple[np.ndarray, np.ndarray]]

    @property
    def first_entry(self) -> np.ndarray:
        """Each sub-block's first entry among :meth:`entries`."""
        first: np.ndarray = np.cumsum(self.count) - self.count
        return first

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every table entry of every sub-block, sub-block by sub-block: its sub-block,
        its position in that table and its label (uint64)."""
        total = int(self.count.sum())
        sub_of = np.repeat(np.arange(self.count.size), self.count)
        at = np.arange(total) - self.first_entry[sub_of]
        pos = self.table[sub_of] + 2 * at
        return sub_of, at, word_pairs(self.words)[pos]


def parse_cseg(values: Sequence[bytes | memoryview], block_shape: tuple[int, ...]) -> CsegStreams:
    """Decompress and check the stored ``cseg`` blocks ``values`` of ``block_shape``
    ``(z, y, x)`` (sides multiples of 8)."""
    (gz, gy, gx), words, base, sizes = checked_streams(values, block_shape)
    nsub, nb = gz * gy * gx, len(values)

    # -- headers, checked per block against its own stream -------------------------------
    headers = windows(words, 1 + 2 * nsub)[base][:, 1:].reshape(nb, nsub, 2).astype(np.int64)
    table = (headers[..., 0] & 0xFFFFFF) + 1
    bits = headers[..., 0] >> 24
    vals = headers[..., 1] + 1
    if not _VALID_BITS[bits].all():
        raise _err("a sub-block claims an invalid number of bits per voxel")
    if (vals + bits * (_SUB_VOXELS // 32) > sizes[:, None]).any():
        raise _err("a sub-block's encoded values run past the end of its stream")
    table = (table + base[:, None]).ravel()
    vals = (vals + base[:, None]).ravel()
    bits = bits.ravel()
    block_end = np.repeat(base + sizes, nsub)

    # -- table lengths: the largest index any voxel uses, plus one -------------------------
    count = np.ones(nb * nsub, np.int64)
    chunks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for width in positive_values(bits).tolist():
        (which,) = np.nonzero(bits == width)
        chunk = _gather(words, vals[which], width)
        chunks[width] = which, chunk
        count[which] = _max_index(chunk, width) + 1
    if (table + 2 * count > block_end).any():
        raise _err("a sub-block's lookup table runs past the end of its stream")
    return CsegStreams((gz, gy, gx), words, base, sizes, table, bits, vals, count, chunks)


def checked_streams(
    values: Sequence[bytes | memoryview], block_shape: tuple[int, ...]
) -> tuple[tuple[int, int, int], np.ndarray, np.ndarray, np.ndarray]:
    """The sub-block grid of ``block_shape`` and the streams of ``values`` decompressed
    into one word array, with each stream's first word and length: their sizes and
    channel words checked, not yet their sub-blocks."""
    grid = _grid(block_shape)
    nsub = grid[0] * grid[1] * grid[2]
    words, base, sizes = _streams(*bare_streams_joined(values, nsub), nsub)
    return grid, words, base, sizes


@dataclass
class CheckedTables:
    """Streams checked by the compiled module, and their distinct tables."""

    grid: tuple[int, int, int]  # sub-blocks per axis, (z, y, x)
    words: np.ndarray  # the streams, one after the other (uint32; may be read-only)
    sizes: np.ndarray  # each stream's words (int64)
    state: object  # the module's parse, for ``_cseg_native.convert``
    labels: np.ndarray  # every distinct table's entries, table after table (uint64)
    tables: np.ndarray  # each table's first word in ``words`` (int64)
    counts: np.ndarray  # and its number of entries (int32)

    def to_native(self, rank: np.ndarray, distinct: np.ndarray) -> tuple[bytes, list[int]]:
        """Every block in DVID's native format, one after the other, and where each ends;
        ``rank[i]``: the rank of entry ``i`` of :attr:`labels` (or of its body) among the
        ascending ``distinct`` labels written (see :mod:`.native_transcode`)."""
        gz, gy, gx = self.grid
        rank32 = rank.astype(np.int32)
        try:
            return _cseg_native.convert(
                self.state, gx, gy, gz, rank32, np.ascontiguousarray(distinct, np.uint64)
            )
        except _cseg_native.StreamError as e:
            raise CodecError(str(e)) from None


def checked_tables(
    values: Sequence[bytes | memoryview], block_shape: tuple[int, ...]
) -> CheckedTables:
    """:func:`parse_cseg`'s checks by the compiled module (only when :data:`COMPILED`),
    which also lists the distinct tables: a table is its position and its length."""
    grid, words, base, sizes = checked_streams(values, block_shape)
    nsub = grid[0] * grid[1] * grid[2]
    try:
        state, labels, tables, counts = _cseg_native.parse(words, base, sizes, nsub)
    except _cseg_native.StreamError as e:
        raise CodecError(str(e)) from None
    return CheckedTables(
        grid,
        words,
        sizes,
        state,
        np.frombuffer(labels, np.uint64),
        np.frombuffer(tables, np.int64),
        np.frombuffer(counts, np.int32),
    )


def map_cseg(value: bytes | memoryview, block_shape: tuple[int, ...], mapping: Mapping) -> bytes:
    """The bare compressed_segmentation stream of one stored ``cseg`` block with every
    table entry replaced by ``mapping`` of it (tables may then repeat a label or not be
    ascending, which decoders accept: they only look entries up)."""
    words, _ = map_many([value], block_shape, mapping)
    return words.tobytes()


def map_many(
    values: Sequence[bytes | memoryview], block_shape: tuple[int, ...], mapping: Mapping
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`map_cseg` of many stored blocks: the words of their bare streams one after
    the other (read-only when the mapping changes nothing), and each stream's words."""
    return map_checked(check_many(values, block_shape), mapping)


def check_many(
    values: Sequence[bytes | memoryview], block_shape: tuple[int, ...]
) -> CsegStreams | CheckedTables:
    """The stored blocks ``values`` decompressed (into memory of their own: ``values``
    may be views of a read transaction) and checked, for :func:`map_checked`."""
    return checked_tables(values, block_shape) if COMPILED else parse_cseg(values, block_shape)


def map_checked(
    checked: CsegStreams | CheckedTables, mapping: Mapping
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`map_many` of streams :func:`check_many` made."""
    if isinstance(checked, CsegStreams):
        return map_streams(checked, mapping), checked.sizes
    counts = checked.counts.astype(np.int64)
    # every entry's first word: its table's, plus two words per entry before it there
    first = np.cumsum(counts) - counts
    pos = np.repeat(checked.tables - 2 * first, counts) + 2 * np.arange(checked.labels.size)
    return _mapped_entries(checked.words, pos, checked.labels, mapping), checked.sizes


def table_labels(values: Sequence[bytes | memoryview], block_shape: tuple[int, ...]) -> np.ndarray:
    """The distinct labels (ascending, uint64) the tables of the stored blocks ``values``
    hold, as far as their voxels index them (at least one block)."""
    if COMPILED:
        return ranks(checked_tables(values, block_shape).labels)[0]
    _, _, labels = parse_cseg(values, block_shape).entries()
    return np.unique(labels.astype(np.uint64, copy=False))


def checked_words(value: bytes | memoryview, block_shape: tuple[int, ...]) -> bytes:
    """The bare compressed_segmentation stream of one stored ``cseg`` block, every
    offset and index of it checked (as :func:`parse_cseg` does)."""
    if COMPILED:
        return checked_tables([value], block_shape).words.tobytes()
    return parse_cseg([value], block_shape).words.tobytes()


def map_streams(parsed: CsegStreams, mapping: Mapping) -> np.ndarray:
    """The words of all of ``parsed``'s streams (one after the other, as parsed) with
    every table entry replaced by ``mapping`` of it: ``parsed.words`` itself when the
    mapping changes nothing, else a copy."""
    sub_of, at, labels = parsed.entries()
    return _mapped_entries(parsed.words, parsed.table[sub_of] + 2 * at, labels, mapping)


def _mapped_entries(
    words: np.ndarray, pos: np.ndarray, labels: np.ndarray, mapping: Mapping
) -> np.ndarray:
    """``words`` with the table entries ``labels`` (at words ``pos``) replaced by
    ``mapping`` of them: ``words`` itself when the mapping changes nothing, else a copy."""
    distinct, which = ranks(labels)
    mapped = np.asarray(mapping(distinct), np.uint64)[which]
    if np.array_equal(mapped, labels):
        return words
    out = words.copy()
    out[pos] = (mapped & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    out[pos + 1] = (mapped >> np.uint64(32)).astype(np.uint32)
    return out


_SORT_BELOW = 2048


def ranks(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(labels, return_inverse=True)`` in linear time (a hash table,
    ``fastremap.renumber``, then a sort of the distinct labels only): ten times faster
    on the tens of thousands of table entries of a request. A few thousand labels or
    fewer (the distinct ones, mapped to bodies) sort faster than the hash table sets up."""
    if labels.size <= _SORT_BELOW:
        distinct, inverse = np.unique(labels.astype(np.uint64, copy=False), return_inverse=True)
        return distinct, inverse.astype(np.int64, copy=False)
    renumbered, table = fastremap.renumber(labels, start=0, preserve_zero=False, in_place=False)
    keys = np.fromiter(table.keys(), np.uint64, len(table))
    first_seen = np.fromiter(table.values(), np.int64, len(table))
    order = np.argsort(keys)
    rank_of = np.empty(keys.size, np.int64)
    rank_of[first_seen[order]] = np.arange(keys.size)
    return keys[order], rank_of[renumbered]


def windows(buf: np.ndarray, width: int) -> np.ndarray:
    """Every run of ``width`` consecutive elements of the 1-D array ``buf`` as a row of a
    view: ``windows(buf, w)[i]`` is ``buf[i : i + w]``, and writing a row writes ``buf``.

    Gathering rows at many positions (``windows(buf, w)[starts]``) copies each row whole,
    instead of building and following an index per element (2-3x faster); assigning to
    rows scatters them likewise. ``buf`` must be contiguous (a view built directly: a fifth
    of ``as_strided``'s cost)."""
    step = buf.strides[0]
    shape = (max(buf.size - width + 1, 0), width)
    return np.ndarray(shape, buf.dtype, buffer=buf, strides=(step, step))


def word_pairs(words: np.ndarray) -> np.ndarray:
    """The uint64 of little-endian words ``i`` and ``i + 1`` at every position ``i`` of the
    uint32 array ``words`` (a view, unaligned where ``i`` is odd)."""
    n = max(words.size - 1, 0)
    return np.ndarray((n,), "<u8", buffer=words.data, strides=(4,))


def positive_values(small: np.ndarray) -> np.ndarray:
    """The distinct positive values of an array of small non-negative integers, ascending
    (one count instead of ``np.unique``'s hashing or sort: ten times faster on 32k
    bit widths)."""
    present: np.ndarray = np.flatnonzero(np.bincount(small.ravel())[1:]) + 1
    return present


def _grid(block_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(block_shape) != 3 or any(int(s) <= 0 or int(s) % SUB for s in block_shape):
        raise _err(f"block sides must be positive multiples of {SUB}, got {block_shape}")
    gz, gy, gx = (int(s) // SUB for s in block_shape)
    return gz, gy, gx


def _streams(
    joined: np.ndarray, byte_sizes: list[int], nsub: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bare streams decoded one after the other into ``joined`` (uint8) as one word
    array, with each stream's first word and length, each checked."""
    nbytes = np.array(byte_sizes, np.int64)
    if (nbytes % 4).any():
        bad = int(nbytes[(nbytes % 4) != 0][0])
        raise _err(f"length {bad} is not a whole number of 32-bit words")
    sizes = nbytes // 4
    if (sizes < 1 + 2 * nsub).any():
        bad = int(nbytes[sizes < 1 + 2 * nsub][0])
        raise _err(f"{bad} bytes cannot hold the headers of {nsub} sub-blocks")
    base = np.cumsum(sizes) - sizes
    words = joined.view("<u4")
    if (words[base] != 1).any():
        raise _err("channel offset is not 1 word (single channel)")
    return words, base, sizes


def _gather(words: np.ndarray, first: np.ndarray, width: int) -> np.ndarray:
    """The packed bytes, ``(k, 64 * width)``, of sub-blocks packed at ``width`` bits from
    word ``first`` (gathered as rows of words)."""
    chunk: np.ndarray = windows(words, width * (_SUB_VOXELS // 32))[first]
    return chunk.view(np.uint8)


def _max_index(chunk: np.ndarray, width: int) -> np.ndarray:
    """The largest index in each row of packed bytes ``chunk`` (``width`` bits, LSB first).

    1- and 2-bit rows (most sub-blocks) are answered on uint64 words OR-ed together per
    row: whether any field is nonzero, has its high bit, or both bits."""
    result: np.ndarray
    if width <= 2:
        words = chunk.view(np.uint64)
        folded = _or_rows(words)
        result = (folded != 0).astype(np.int64)
        if width == 2:
            result[(folded & _HIGH_OF_2) != 0] = 2
            result[(_or_rows((words >> np.uint64(1)) & words) & _LOW_OF_2) != 0] = 3
        return result
    top: np.ndarray
    if width >= 8:
        top = chunk.view(f"<u{width // 8}")
    else:
        top = np.maximum(chunk & np.uint8(15), chunk >> np.uint8(4))
    result = top.max(axis=1).astype(np.int64)
    return result


def _or_rows(words: np.ndarray) -> np.ndarray:
    """The OR of each row of ``words`` (``(k, n)``, ``n >= 2``), column by column
    (``np.any``/``reduce`` over a row of 8-16 words loops per row: twice slower)."""
    folded: np.ndarray = words[:, 0] | words[:, 1]
    for j in range(2, words.shape[1]):
        folded |= words[:, j]
    return folded


_HIGH_OF_2 = np.uint64(0xAAAAAAAAAAAAAAAA)
_LOW_OF_2 = np.uint64(0x5555555555555555)
