"""Writing image voxels: one atomic transaction per request holding the scale-0 blocks,
the pyramid blocks above them and the updated extents.

Validation (shape, dtype, bounds) and the encoding of fully covered blocks happen before
the transaction starts, so a bad request writes nothing and the transaction stays short.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from voxhub.blocks import BlockLayout, apply_write, prepare_write
from voxhub.blocks.pool import parallel_map
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.extents import grow_extents
from voxhub.datatypes.imageblk.pyramid import downsample, update_pyramid
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedTxn, VersionedView


def coerce(data: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """``data`` as an array of ``dtype``, refusing any cast that could lose information.

    Safe casts (uint8 into uint16, ...) always pass; other integer data passes when every
    value fits (so Python ints, which numpy makes int64, can be written to any volume).
    """
    arr = np.asarray(data)
    if arr.dtype == dtype:
        return arr
    if np.can_cast(arr.dtype, dtype, casting="safe"):
        return arr.astype(dtype)
    if arr.dtype.kind in "iu" and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if arr.size == 0 or (int(arr.min()) >= info.min and int(arr.max()) <= info.max):
            return arr.astype(dtype)
        raise InvalidRequest(
            f"values of the {arr.dtype} data lie outside the {dtype} range [{info.min}, {info.max}]"
        )
    if arr.dtype.kind in "iuf" and dtype.kind == "f":
        with np.errstate(all="ignore"):
            cast = arr.astype(dtype)
            exact = np.array_equal(cast.astype(arr.dtype), arr, equal_nan=arr.dtype.kind == "f")
        if exact:
            return cast
    raise InvalidRequest(f"cannot write {arr.dtype} data into a {dtype} volume without loss")


def write_image(
    view: VersionedView,
    config: ImageConfig,
    layouts: Sequence[BlockLayout],
    offset: Vec3,
    data: np.ndarray,
    mask: np.ndarray | None = None,
) -> None:
    """Write ``data`` (already of the volume's dtype) at scale 0, pyramid and extents
    included; with ``mask`` (bool, ``data``'s shape) only the voxels where it is true
    (the others keep their stored values, in the same transaction)."""
    view.check_writable()
    factor = config.downsample_factor
    reduce = partial(downsample, factor=factor) if config.max_scale else None
    prepared = prepare_write(layouts[0], offset, data, mask, reduce)
    written = prepared.box if mask is None else mask_box(mask, offset)
    if written is None or written.empty:
        return

    def transaction(txn: VersionedTxn) -> None:
        changed = apply_write(txn, layouts[0], prepared)
        if config.max_scale:  # whole blocks come reduced already; the others now
            rest = [c for c in changed if c not in prepared.reduced]
            late = parallel_map(lambda c: downsample(changed[c], factor), rest)
            small = dict(zip(rest, late, strict=True))
            small.update({c: prepared.reduced[c] for c in changed if c not in small})
            update_pyramid(txn, config, layouts, small, reduced=True)
        grow_extents(txn, written)

    view.transact(transaction)


def mask_box(mask: np.ndarray, offset: Vec3) -> Box | None:
    """The bounding box of ``mask``'s true voxels placed at ``offset`` (``None``: none)."""
    ranges = []
    for axis in range(3):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        if not len(hit):
            return None
        ranges.append((offset[axis] + int(hit[0]), offset[axis] + int(hit[-1]) + 1))
    return Box(tuple(r[0] for r in ranges), tuple(r[1] for r in ranges))  # type: ignore[arg-type]


__all__ = ["coerce", "grow_extents", "mask_box", "write_image"]
