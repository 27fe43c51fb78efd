"""Neuroglancer compressed_segmentation (8³ encoding blocks) followed by zstd, for labels.

Label volumes are a few ids repeated over large regions, so a per-8³ lookup table plus
1-4 bit indices shrinks them far more than byte-oriented compressors do, and zstd then
squeezes the repetitive tables and headers (the ``cseg`` codec stores
``zstd(compressed_segmentation(block))``).

Axis order: the format numbers voxels and encoding blocks x fastest. The
``compressed_segmentation`` package indexes arrays ``[x, y, z]``, so a C-order ``(z, y, x)``
block is handed over as its transpose in Fortran order (x fastest in memory, no copy);
the tests check this against the header layout, not just by a round trip.

The package's decoder trusts its input (garbage segfaults it), so every stream is checked
here first: channel offset, block headers, encoded-bit widths, that each block's values
lie inside the buffer and that each in-volume voxel's table index stays inside the buffer.

:func:`encode_google` / :func:`decode_google` handle the bare format (no zstd), which is
what DVID's ``compression=google`` cutouts carry.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import compressed_segmentation as _cs  # type: ignore[import-not-found]  # no stubs
import numpy as np
import zstandard
from numpy.typing import DTypeLike

from voxhub.codecs.cseg_cells import CELL, cell_grid, encode_cells, to_cells
from voxhub.codecs.cseg_ranked import encode_uint64
from voxhub.codecs.label_runs import LabelRuns
from voxhub.codecs.zstd import ZstdCodec
from voxhub.errors import CodecError, InvalidRequest
from voxhub.geometry import Vec3

#: The encoding block edge; neuroglancer's default and what DVID emits.
SUB = 8
_SUB_VOXELS = SUB**3
_DTYPES = frozenset({"uint32", "uint64"})
_BIT_WIDTHS = (0, 1, 2, 4, 8, 16, 32)

_local = threading.local()


def _err(message: str) -> CodecError:
    return CodecError(f"cseg codec: {message}")


def _label_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    dt = np.dtype(dtype)
    if dt.name not in _DTYPES:
        raise _err(f"only uint32 and uint64 labels are supported, got {dt.name}")
    return dt


# -- the bare neuroglancer format ----------------------------------------------------------
def encode_google(block: np.ndarray, runs: LabelRuns | None = None) -> bytes:
    """Encode a 3-D ``(z, y, x)`` uint32/uint64 array (any shape) as compressed_segmentation.

    One channel, 8³ encoding blocks; partial blocks at the far edges are allowed.
    ``runs``: the block's :class:`LabelRuns` (C order), if the caller has them already.
    Blocks of whole cells are encoded in numpy from their runs in cell order
    (:mod:`voxhub.codecs.cseg_cells`, when not given C-order runs), others through their
    ids' ranks (uint64, :mod:`voxhub.codecs.cseg_ranked`) or by the package; the bytes
    are the package's either way.
    """
    if block.ndim != 3:
        raise _err(f"expected a 3-D block, got shape {block.shape}")
    dt = _label_dtype(block.dtype)
    if not dt.isnative:
        block = block.astype(dt.newbyteorder("="))
    if runs is None and cell_grid(block.shape) is not None:
        stream = encode_cells(LabelRuns.of(to_cells(block), CELL), dt.itemsize)
        if stream is not None:
            return stream
    if dt.itemsize == 8:  # the same bytes, a third cheaper (cseg_ranked); views are fine
        return encode_uint64(block, runs)
    native = np.ascontiguousarray(block)
    # (z, y, x) C order == (x, y, z) Fortran order: what the package calls order='F'.
    data: bytes = _cs.compress(native.T, block_size=(SUB, SUB, SUB), order="F")
    return data


def decode_google(data: bytes | memoryview, shape: Vec3, dtype: DTypeLike) -> np.ndarray:
    """Decode a bare compressed_segmentation stream into a new C-order ``(z, y, x)`` array.

    ``shape`` is ``(z, y, x)``. Raises :class:`CodecError` if the stream is malformed or
    does not describe a volume of that shape.
    """
    dt = _label_dtype(dtype)
    if len(shape) != 3 or any(int(s) <= 0 for s in shape):
        raise _err(f"shape must be three positive sizes, got {shape}")
    raw = bytes(data)
    _check_stream(raw, (int(shape[0]), int(shape[1]), int(shape[2])), dt.itemsize)
    try:
        xyz = _cs.decompress(
            raw, (shape[2], shape[1], shape[0]), dt, block_size=(SUB, SUB, SUB), order="F"
        )
    except (_cs.DecodeError, ValueError) as e:  # pragma: no cover  (prevented by the check)
        raise _err(f"corrupt data: {e}") from None
    result: np.ndarray = np.ascontiguousarray(xyz.T)
    return result


def _check_stream(raw: bytes, shape: Vec3, itemsize: int) -> None:
    """Refuse any stream the package's decoder could read outside of (see module doc)."""
    if len(raw) % 4:
        raise _err(f"length {len(raw)} is not a whole number of 32-bit words")
    words = np.frombuffer(raw, dtype="<u4")
    nwords = words.size
    grid = [-(-s // SUB) for s in shape]  # blocks per axis, (z, y, x)
    nblocks = grid[0] * grid[1] * grid[2]
    if nwords < 1:
        raise _err("empty stream")
    base = int(words[0])  # channel 0 starts here, in words
    if base != 1:  # one channel: its data starts right after the one offset word
        raise _err(f"channel offset is {base} words, expected 1 (single channel)")
    if base + 2 * nblocks > nwords:
        raise _err(
            f"{len(raw)} bytes cannot hold {nblocks} block headers at word offset {base} "
            f"for a {shape} (z, y, x) volume"
        )
    headers = words[base : base + 2 * nblocks].reshape(nblocks, 2).astype(np.int64)
    table = headers[:, 0] & 0xFFFFFF
    bits = headers[:, 0] >> 24
    values = headers[:, 1]
    bad_bits = ~np.isin(bits, _BIT_WIDTHS)
    if bad_bits.any():
        i = int(np.argmax(bad_bits))
        raise _err(f"block {i} claims {int(bits[i])} bits per voxel")
    # The format does not record the volume's size, but encoders put the first table right
    # after the last block header; a stream read with the wrong shape (so the wrong number
    # of headers) is caught here instead of decoding into nonsense.
    first = int(min(table.min(), values[bits > 0].min(initial=table.min())))
    if first != 2 * nblocks:
        raise _err(
            f"block data starts at word {first} of the channel, expected {2 * nblocks} "
            f"(right after the headers of the {nblocks} blocks of a {shape} (z, y, x) volume)"
        )
    value_words = bits * (_SUB_VOXELS // 32)
    overrun = base + values + value_words > nwords
    if overrun.any():
        i = int(np.argmax(overrun))
        raise _err(f"block {i}'s encoded values run past the end of the stream")
    table_words = itemsize // 4
    # A table with room for every index the bit width allows is safe without looking at
    # the voxels; only the others (typically the last few tables) need their largest
    # index unpacked. This halves the decode time of a typical 64³ block.
    max_index = (np.int64(1) << bits) - 1
    (tight,) = np.nonzero(base + table + (max_index + 1) * table_words > nwords)
    if tight.size:
        inside = _inside_mask(shape, grid)
        max_index[tight] = _max_indices(
            words, base, values[tight], bits[tight], None if inside is None else inside[tight]
        )
    overrun = base + table + (max_index + 1) * table_words > nwords
    if overrun.any():
        i = int(np.argmax(overrun))
        raise _err(f"block {i}'s lookup table runs past the end of the stream")


def _max_indices(
    words: np.ndarray,
    base: int,
    values: np.ndarray,
    bits: np.ndarray,
    inside: np.ndarray | None,
) -> np.ndarray:
    """Largest table index any in-volume voxel of each block uses (0 for 0-bit blocks);
    ``inside`` says which of each block's 512 voxels lie in the volume (None: all)."""
    nblocks = bits.size
    result = np.zeros(nblocks, dtype=np.int64)
    raw = words.view(np.uint8)
    for width in _BIT_WIDTHS[1:]:
        (which,) = np.nonzero(bits == width)
        if which.size == 0:
            continue
        nbytes = width * (_SUB_VOXELS // 8)
        starts = 4 * (base + values[which])
        chunk = raw[starts[:, None] + np.arange(nbytes)]  # (k, nbytes)
        idx: np.ndarray
        if width >= 8:
            # whole little-endian integers, one per voxel
            idx = chunk.view(f"<u{width // 8}")
        else:
            # Values are packed LSB-first: voxel j of a byte sits at bits [j*w, (j+1)*w).
            shifts = np.arange(0, 8, width, dtype=np.uint8)
            fields = (chunk[:, :, None] >> shifts) & np.uint8((1 << width) - 1)
            idx = fields.reshape(which.size, _SUB_VOXELS)
        if inside is not None:
            idx = np.where(inside[which], idx, 0)
        result[which] = idx.max(axis=1)
    return result


def _inside_mask(shape: Vec3, grid: list[int]) -> np.ndarray | None:
    """Per block, which of its 512 voxels (x fastest) lie inside the volume."""
    if all(s % SUB == 0 for s in shape):
        return None
    p = np.arange(SUB)
    # extent of each block along each axis, clipped at the volume's far edge
    ez, ey, ex = (np.minimum(SUB, s - np.arange(g) * SUB) for s, g in zip(shape, grid, strict=True))
    mz = p[None, :] < ez[:, None]  # (gz, 8)
    my = p[None, :] < ey[:, None]
    mx = p[None, :] < ex[:, None]
    mask = (
        mz[:, None, None, :, None, None]
        & my[None, :, None, None, :, None]
        & mx[None, None, :, None, None, :]
    )  # (gz, gy, gx, vz, vy, vx): blocks x fastest, voxels x fastest
    result: np.ndarray = mask.reshape(grid[0] * grid[1] * grid[2], _SUB_VOXELS)
    return result


# -- the block codec --------------------------------------------------------------------------
def _compressor(level: int) -> Any:
    # zstandard objects are not thread-safe; block I/O runs on a pool, so one per thread.
    cache: dict[int, Any] | None = getattr(_local, "compressors", None)
    if cache is None:
        cache = _local.compressors = {}
    c = cache.get(level)
    if c is None:
        c = cache[level] = zstandard.ZstdCompressor(
            level=level, write_content_size=True, write_checksum=True
        )
    return c


def _decompressor() -> Any:
    d = getattr(_local, "decompressor", None)
    if d is None:
        d = _local.decompressor = zstandard.ZstdDecompressor()
    return d


def _max_stream_bytes(shape: tuple[int, ...], itemsize: int) -> int:
    """An upper bound on a well-formed bare stream for ``shape`` (refuses zstd bombs)."""
    nblocks = int(np.prod([-(-s // SUB) for s in shape]))
    per_block = 8 + _SUB_VOXELS * itemsize + _SUB_VOXELS * 4  # header, full table, 32-bit values
    return 4 + nblocks * per_block


class CsegCodec(ZstdCodec):
    """compressed_segmentation (8³) then zstd at ``level`` (default 1); uint32/uint64 only.

    The zstd level option and its checks are :class:`ZstdCodec`'s."""

    name: ClassVar[str] = "cseg"
    dtypes: ClassVar[frozenset[str]] = _DTYPES
    options: ClassVar[frozenset[str]] = frozenset({"level"})  # one frame: no plane frames

    def validate(self, dtype: str, block_shape: Vec3) -> None:
        super().validate(dtype, block_shape)
        if any(int(s) <= 0 or int(s) % SUB for s in block_shape):
            raise InvalidRequest(
                f"codec {self.name!r} needs block sides that are multiples of {SUB}, "
                f"got {tuple(block_shape)}"
            )

    def encode(self, block: np.ndarray, runs: LabelRuns | None = None) -> bytes:
        """``runs``: the block's :class:`LabelRuns`, if the caller has them already."""
        data: bytes = _compressor(self.level).compress(encode_google(block, runs))
        return data

    def encode_cells(self, runs: LabelRuns, itemsize: int) -> bytes | None:
        """What :meth:`encode` stores for a block given as its ``runs`` over its copy in
        cell order (:mod:`voxhub.codecs.cseg_cells`); ``None`` where that declines."""
        bare = encode_cells(runs, itemsize)
        return None if bare is None else bytes(_compressor(self.level).compress(bare))

    def decode_into(self, data: bytes | memoryview, out: np.ndarray) -> None:
        if out.ndim != 3:
            raise self.error(f"expected a 3-D output block, got shape {out.shape}")
        if out.dtype.name not in _DTYPES:
            raise self.error(f"only uint32 and uint64 labels are supported, got {out.dtype}")
        try:
            size = zstandard.frame_content_size(data)
        except zstandard.ZstdError as e:
            raise self.error(f"corrupt frame header: {e}") from None
        limit = _max_stream_bytes(out.shape, out.dtype.itemsize)
        if size < 0 or size > limit:
            raise self.error(
                f"frame claims {size} bytes, more than a {out.shape} {out.dtype} block can need"
            )
        try:
            bare = _decompressor().decompress(data, max_output_size=limit)
        except zstandard.ZstdError as e:
            raise self.error(f"corrupt data: {e}") from None
        if len(bare) != size:
            raise self.error(f"frame decoded to {len(bare)} bytes, header said {size}")
        shape = (out.shape[0], out.shape[1], out.shape[2])
        np.copyto(out, decode_google(bare, shape, out.dtype))
