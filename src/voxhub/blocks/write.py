"""Write an arbitrary box through blocks, atomically and without losing concurrent writes.

A write is split in two phases so that the slow part runs outside any transaction:

1. :func:`prepare_write` validates the request and starts encoding, on the pool, every
   block the box covers entirely (no read is needed for those).
2. :func:`apply_write` runs inside ``view.transact``: it puts the encoded blocks as
   they come off the pool (so the store's copy and the encoding overlap: on LMDB this
   took a 512³ write from ~0.36 s to ~0.28 s) and does read-modify-write for the
   partially covered ones, reading their current value *through the transaction*, so
   writers in other threads or processes that touch other voxels of the same blocks are
   never lost. An encoding error surfaces inside the transaction, which then writes
   nothing.

A block that ends up entirely background is deleted rather than stored. Callers that
must update more state in the same transaction (pyramids, extents) call the two phases
themselves; :func:`write_box` is the plain composition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from voxhub.blocks.layout import BlockLayout
from voxhub.blocks.pool import parallel_map, submit_map
from voxhub.blocks.read import fetch_blocks
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedTxn, VersionedView


@dataclass(frozen=True)
class PreparedWrite:
    """A validated write with its fully covered blocks already encoded."""

    box: Box
    data: np.ndarray
    #: fully covered blocks, in the order their encodings arrive in ``encoded``.
    full_coords: list[Vec3]
    #: chunks of encoded values (``None`` = all background: delete), being computed.
    encoded: list[Future[list[bytes | None]]]
    #: blocks the box covers only in part (need read-modify-write).
    partial: list[Vec3]
    #: which voxels of ``data`` are written (``None``: all); the others keep their values
    mask: np.ndarray | None = None
    #: ``reduce`` of each fully covered block, filled in as ``encoded`` completes
    reduced: dict[Vec3, np.ndarray] = field(default_factory=dict)


def prepare_write(
    layout: BlockLayout,
    offset: Vec3,
    data: np.ndarray,
    mask: np.ndarray | None = None,
    reduce: Callable[[np.ndarray], np.ndarray] | None = None,
) -> PreparedWrite:
    """Validate ``data`` (3-D, exactly the layout's dtype) and encode its whole blocks.
    ``mask`` (bool, ``data``'s shape): write only the voxels where it is true (blocks it
    leaves out are not touched, blocks it covers in part are read-modify-written).
    ``reduce`` (a pyramid's downsampling): also computed for each whole block, from the
    copy its encoding makes while that copy is in the core's cache (``reduced``; ~0.3
    CPU-s per GB of uint8 less than downsampling the blocks later from ``data``)."""
    if data.ndim != 3:
        raise InvalidRequest(f"write data must be 3-D (z, y, x), got shape {data.shape}")
    if data.dtype != layout.dtype:
        raise InvalidRequest(f"write data has dtype {data.dtype}, the volume holds {layout.dtype}")
    if mask is not None and mask.shape != data.shape:
        raise InvalidRequest(f"write mask has shape {mask.shape}, the data {data.shape}")
    box = Box.from_shape((data.shape[0], data.shape[1], data.shape[2]), offset)
    full_coords: list[Vec3] = []
    partial: list[Vec3] = []
    for c in layout.grid.blocks_in(box):
        bbox = layout.grid.block_box(c)
        inside = covered(mask, bbox.intersect(box).relative_to(offset))
        if inside is False:
            continue
        (full_coords if inside and box.contains(bbox) else partial).append(c)

    reduced: dict[Vec3, np.ndarray] = {}

    def encode(c: Vec3) -> bytes | None:
        block = data[layout.grid.block_box(c).relative_to(offset)]
        if reduce is not None:
            block = np.ascontiguousarray(block)  # the copy the codec would make, shared
            reduced[c] = reduce(block)  # one key per thread: safe without a lock
        return None if layout.is_background(block) else layout.codec.encode(block)

    encoded = submit_map(encode, full_coords)
    return PreparedWrite(box, data, full_coords, encoded, partial, mask, reduced)


def covered(mask: np.ndarray | None, part: tuple[slice, ...]) -> bool | None:
    """Whether ``mask`` (``None``: all true) is true on all of ``part`` (``True``), on
    none of it (``False``) or on some (``None``)."""
    if mask is None:
        return True
    piece = mask[part]
    if piece.all():
        return True
    return None if piece.any() else False


def paste_into(
    block: np.ndarray, at: tuple[slice, ...], data: np.ndarray, mask: np.ndarray | None
) -> None:
    """``block[at] = data``, only where ``mask`` (``data``'s shape) is true if given."""
    if mask is None:
        block[at] = data
    else:
        np.copyto(block[at], data, where=mask)


def encoded_blocks(prepared: PreparedWrite) -> Iterator[tuple[Vec3, bytes | None]]:
    """``(coord, encoded value)`` of the fully covered blocks, as soon as each is ready."""
    coords = iter(prepared.full_coords)
    for chunk in prepared.encoded:
        for value in chunk.result():
            yield next(coords), value


def store_blocks(txn: VersionedTxn, layout: BlockLayout, blocks: Mapping[Vec3, np.ndarray]) -> None:
    """Encode ``blocks`` in parallel and put them (all-background blocks are deleted)."""
    coords = list(blocks)

    def encode(c: Vec3) -> bytes | None:
        block = blocks[c]
        return None if layout.is_background(block) else layout.codec.encode(block)

    for c, value in zip(coords, parallel_map(encode, coords), strict=True):
        _put(txn, layout.tkey(c), value)


def put_encoded(
    txn: VersionedTxn, layout: BlockLayout, values: Mapping[Vec3, bytes | None]
) -> None:
    """Put blocks already encoded by ``layout.codec`` (``None``: all background, deleted)."""
    for c, value in values.items():
        _put(txn, layout.tkey(c), value)


def apply_write(
    txn: VersionedTxn, layout: BlockLayout, prepared: PreparedWrite
) -> dict[Vec3, np.ndarray]:
    """Store ``prepared`` through ``txn``; return the new content of every touched block.

    Fully covered blocks come back as views of the caller's data, so callers that derive
    more data (pyramid levels) need not decode anything.
    """
    box, data, grid = prepared.box, prepared.data, layout.grid
    for c, value in encoded_blocks(prepared):
        _put(txn, layout.tkey(c), value)
    current = fetch_blocks(txn, layout, prepared.partial)

    def paste(i: int) -> np.ndarray:
        block = current[i]
        if block is None:
            block = layout.background_block()
        bbox = grid.block_box(prepared.partial[i])
        part = bbox.intersect(box)
        mine = part.relative_to(box.start)
        mask = None if prepared.mask is None else prepared.mask[mine]
        paste_into(block, part.relative_to(bbox.start), data[mine], mask)
        return block

    merged = dict(zip(prepared.partial, parallel_map(paste, range(len(current))), strict=True))
    store_blocks(txn, layout, merged)
    touched = {c: data[grid.block_box(c).relative_to(box.start)] for c in prepared.full_coords}
    touched.update(merged)
    return touched


def write_box(view: VersionedView, layout: BlockLayout, offset: Vec3, data: np.ndarray) -> None:
    """Write ``data`` with its ``[0,0,0]`` at voxel ``offset``, atomically per call."""
    view.check_writable()
    prepared = prepare_write(layout, offset, data)
    view.transact(lambda txn: apply_write(txn, layout, prepared))


def _put(txn: VersionedTxn, tkey: bytes, value: bytes | None) -> None:
    if value is None:
        txn.delete(tkey)
    else:
        txn.put(tkey, value)
