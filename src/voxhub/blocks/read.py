"""Read an arbitrary box through blocks: one batched get, parallel decode, one output.

Missing blocks read as the layout's background. A block whose destination slice is
contiguous (fully inside the box and spanning the box's y and x extent) is decoded
straight into the output; any other block is decoded into a per-thread scratch buffer
and its part copied out. Of a block cut by the box's z faces only the planes the box
needs are decoded when the codec allows it (zstd: with plane frames only the frames
holding those planes; in one frame, decoding stops after the 128 KiB zstd block holding
the last plane needed).

Where the blocks go (:func:`cuts_of`) is worked out once per axis, not per block, and the
decoding is shared (:func:`share_work`): the calling thread decodes too, and idle pool
workers claim blocks one at a time from the same queue. A small read therefore pays one
thread hand-off rather than one per chunk, and never waits for a pool that is busy with
another request (a helper that has not started is cancelled once the caller is done).

All values come from one ``with_values`` (one snapshot: on LMDB one read transaction, or
a read could return half of a write made to an open node meanwhile), and are decoded
inside it: on LMDB they are views into the memory map, so no block is copied out before
decoding (copying each value into fresh memory cost ~80 µs of the ~85 µs per block the
lookup took; without it, finding all of a 100³ read's blocks takes ~2 µs per block, so
handing blocks to the decoders while the cursor walks would gain nothing). The read
transaction stays open while the blocks are decoded, which only delays the reuse of
pages freed by concurrent writers meanwhile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import suppress
from itertools import product
from typing import Any

import numpy as np

from voxhub.blocks.layout import BlockLayout
from voxhub.blocks.output import new_output
from voxhub.blocks.pool import WORKERS, parallel_map, scratch, submit_map
from voxhub.codecs.zstd import ZstdCodec
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader

#: reads of at most this many blocks are decoded by the calling thread alone: waking a
#: pool worker (≈50 µs) costs more than it saves on one or two 64³ decodes.
INLINE_BLOCKS = 2

#: per axis, per block index: (slice of the output, slice of the block, whole block?)
AxisCut = tuple[slice, slice, bool]


def cuts_of(layout: BlockLayout, box: Box) -> list[dict[int, AxisCut]]:
    """For each axis, every block index the box meets → where that block's voxels go."""
    axes: list[dict[int, AxisCut]] = []
    for start, stop, size in zip(box.start, box.stop, layout.block_shape, strict=True):
        cut: dict[int, AxisCut] = {}
        for b in range(start // size, -(-stop // size)):
            lo, hi = max(start, b * size), min(stop, (b + 1) * size)
            whole = lo == b * size and hi == (b + 1) * size
            cut[b] = (slice(lo - start, hi - start), slice(lo - b * size, hi - b * size), whole)
        axes.append(cut)
    return axes


def read_box(reader: VersionedReader, layout: BlockLayout, box: Box) -> np.ndarray:
    """The voxels of ``box`` (C order ``(z, y, x)``, the layout's dtype)."""
    cz, cy, cx = cuts_of(layout, box)
    coords = list(product(cz, cy, cx))
    out = new_output(box.shape, layout.dtype)
    if not coords:
        return out
    fill = _block_filler(layout, out)
    depth = layout.block_shape[0]

    def decode_all(values: Sequence[bytes | memoryview | None]) -> None:
        # Longest first (stored size x planes to decode), so that the threads finish
        # together instead of one decoding a last big block while the other idles.
        order = sorted(
            range(len(coords)),
            key=lambda i: -len(values[i] or b"") * _planes(cz[coords[i][0]][1], depth),
        )

        def one(k: int) -> None:
            i = order[k]
            z, y, x = coords[i]
            fill(cz[z], cy[y], cx[x], values[i])

        share_work(one, len(coords))

    reader.with_values([layout.tkey(c) for c in coords], decode_all)
    return out


def _planes(cut: slice, depth: int) -> int:
    """About how many planes of a block decoding its ``cut`` (z) costs."""
    start, stop = int(cut.start), int(cut.stop)
    return min(stop, depth) - start


def fill_block(
    layout: BlockLayout, box: Box, out: np.ndarray, coord: Vec3, data: bytes | memoryview | None
) -> None:
    """Decode the stored block ``data`` at ``coord`` into its part of ``out`` (which holds
    ``box``); ``None`` fills that part with the background."""
    cz, cy, cx = cuts_of(layout, box)
    z, y, x = coord
    _block_filler(layout, out)(cz[z], cy[y], cx[x], data)


def _block_filler(
    layout: BlockLayout, out: np.ndarray
) -> Callable[[AxisCut, AxisCut, AxisCut, bytes | memoryview | None], None]:
    """A function that puts one block (its three axis cuts and stored value) into ``out``."""
    codec, shape, dtype = layout.codec, layout.block_shape, layout.dtype
    background = layout.background
    # exactly zstd: a subclass (CsegCodec) frames another format, whose head is no plane
    planes = codec.decode_planes_into if type(codec) is ZstdCodec else None

    rows_out = out.ndim == 3 and out.strides[2] == out.itemsize  # rows copy as one element
    # a zero background clears rows as zero bytes; -0.0 is not all-zero bits
    zero = background == 0 and not (dtype.kind == "f" and math.copysign(1, background) < 0)

    def fill(cz: AxisCut, cy: AxisCut, cx: AxisCut, data: bytes | memoryview | None) -> None:
        dst = out[cz[0], cy[0], cx[0]]
        if data is None:
            if rows_out and zero:
                row, zero_row = _row_type(dst.shape[2] * dst.itemsize)
                dst.view(row)[...] = zero_row
            else:
                dst.fill(background)
        elif cz[2] and cy[2] and cx[2] and dst.flags.c_contiguous:
            codec.decode_into(data, dst)
        else:
            buf = scratch(shape, dtype)
            z0, z1 = cz[1].start, cz[1].stop
            if planes is not None and (z0 or z1 < shape[0]):
                planes(data, buf, z0, z1)  # only the frames (or head) holding z0..z1
            else:
                codec.decode_into(data, buf)
            src = buf[cz[1], cy[1], cx[1]]
            if rows_out:
                row = _row_type(dst.shape[2] * dst.itemsize)[0]
                np.copyto(dst.view(row), src.view(row))
            else:
                np.copyto(dst, src)

    return fill


def _row_type(nbytes: int) -> tuple[np.dtype[Any], np.ndarray]:
    """A void dtype of one voxel row (``nbytes``) and a zero row of it, to copy or clear
    rows as single elements.

    Seen this way (the last axis is contiguous in both arrays) numpy copies a whole plane
    of rows per call of its inner loop instead of going round its outer loop once per row:
    a 64³ uint8 block into a 512³ output took 54 µs as rows of voxels, 28 µs as single
    elements, and partial blocks and background fills gain alike (13 → 7 µs, 11 → 6 µs).
    """
    row = _ROW_TYPES.get(nbytes)
    if row is None:
        dtype = np.dtype(f"V{nbytes}")
        row = _ROW_TYPES[nbytes] = (dtype, np.zeros((), dtype))
    return row


_ROW_TYPES: dict[int, tuple[np.dtype[Any], np.ndarray]] = {}


def share_work(fn: Callable[[int], object], n: int) -> None:
    """Run ``fn(0) … fn(n-1)`` on the calling thread and on up to ``WORKERS - 1`` pool
    workers, each claiming the next index from one shared queue (dynamic balance: a
    missing block costs nothing, a tissue block 0.2 ms). The first exception is re-raised
    once no thread is still running ``fn``.
    """
    if n <= INLINE_BLOCKS or WORKERS == 1:
        for i in range(n):
            fn(i)
        return
    queue = iter(range(n))  # next() on a range iterator is atomic under the GIL
    failed: list[BaseException] = []

    def drain(_: object) -> None:
        for i in queue:
            if failed:
                return
            try:
                fn(i)
            except BaseException as e:
                failed.append(e)
                raise

    helpers: list[Future[list[None]]] = submit_map(drain, [None] * min(WORKERS - 1, n - 1))
    try:
        drain(None)
    finally:  # never return while a helper may still write into the caller's output
        for f in helpers:
            if not f.cancel():
                with suppress(BaseException):  # a helper's error is already in ``failed``
                    f.result()
    if failed:
        raise failed[0]


def fetch_blocks(
    reader: VersionedReader, layout: BlockLayout, coords: Sequence[Vec3]
) -> list[np.ndarray | None]:
    """Decoded whole blocks at ``coords`` (``None`` where absent), decoded in parallel."""
    values = reader.get_many([layout.tkey(c) for c in coords])

    def decode(data: bytes | None) -> np.ndarray | None:
        if data is None:
            return None
        return layout.codec.decode(data, layout.block_shape, layout.dtype)

    return parallel_map(decode, values)
