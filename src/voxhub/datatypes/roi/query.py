"""Reading an ROI at one node: its spans, point membership and voxel masks.

This is what other datatypes build on (annotations ``GET roi/{roi}``, labelsz counts
limited to an ROI, ``?roi=`` masks of voxel reads)::

    reader = open_roi_reader(access, node_uuid, "medulla")   # or RoiReader(view, block_shape)
    inside = roi_contains(reader, points_zyx)                 # (N,) bool

A reader works on any :class:`~voxhub.versioning.protocols.VersionedReader` of the roi
instance, including a transaction's view joined to another instance's, so a sync hook
sees the ROI as its own transaction does. Every method reads only the block planes it
needs and works span by span in numpy, never block by block.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxhub.datatypes.roi import keys
from voxhub.datatypes.roi.config import RoiConfig
from voxhub.datatypes.roi.spans import INT32_MAX, INT32_MIN, NO_SPANS
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader


class RoiReader:
    """The ROI of one roi instance as a version-resolved reader sees it."""

    def __init__(self, reader: VersionedReader, block_shape: Vec3) -> None:
        self.reader = reader
        #: ``(z, y, x)`` voxels per block
        self.block_shape = block_shape

    # -- spans ------------------------------------------------------------------------
    def planes(self, z0: int | None = None, z1: int | None = None) -> dict[int, np.ndarray]:
        """``{z: (M, 3) (y, x0, x1) triples}`` of the stored block planes ``z0 <= z < z1``
        (all when not given), ascending."""
        lo = INT32_MIN if z0 is None else max(z0, INT32_MIN)
        hi = INT32_MAX + 1 if z1 is None else min(z1, INT32_MAX + 1)
        if lo >= hi:  # planes beyond int32 hold nothing
            return {}
        end = keys.ROWS_END if hi > INT32_MAX else keys.row_key(hi)
        return {
            keys.z_of(k): keys.decode_row(v)
            for k, v in self.reader.scan(keys.row_key(lo), end)
            if v is not None
        }

    def spans(self) -> np.ndarray:
        """Every span ``[z, y, x0, x1]`` (block coordinates, ``x1`` inclusive), sorted by
        z, y, x0 and merged: an ``(N, 4)`` int64 array."""
        return _spans_of(self.planes())

    def z_range(self) -> tuple[int, int] | None:
        """The first and last block plane holding spans (``None``: the ROI is empty)."""
        found = [
            keys.z_of(k)
            for k, _ in self.reader.scan(keys.ROWS_START, keys.ROWS_END, keys_only=True)
        ]
        return (found[0], found[-1]) if found else None

    # -- points -----------------------------------------------------------------------
    def contains(self, points_zyx: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Whether each voxel ``(z, y, x)`` lies in the ROI: an ``(N,)`` bool array."""
        points = np.asarray(points_zyx, dtype=np.int64).reshape(-1, 3)
        inside = np.zeros(len(points), dtype=bool)
        if not len(points):
            return inside
        blocks = np.floor_divide(points, np.asarray(self.block_shape, dtype=np.int64))
        fits = np.flatnonzero(np.all((blocks >= INT32_MIN) & (blocks <= INT32_MAX), axis=1))
        # points grouped by plane: one read per plane, one pass over the points
        order = fits[np.argsort(blocks[fits, 0], kind="stable")]
        zs, firsts = np.unique(blocks[order, 0], return_index=True)
        values = self.reader.get_many([keys.row_key(int(z)) for z in zs])
        for value, which in zip(values, np.split(order, firsts[1:]), strict=True):
            if value is not None:
                triples = keys.decode_row(value)
                inside[which] = _in_plane(triples, blocks[which, 1], blocks[which, 2])
        return inside

    # -- voxels -----------------------------------------------------------------------
    def mask(self, box: Box, factor: Vec3 = (1, 1, 1)) -> np.ndarray:
        """A bool array of ``box``'s shape, true inside the ROI.

        ``factor`` > 1 reads the mask of a downsampled level (pyramid scale ``s`` has
        factor ``2**s`` per axis): a voxel ``v`` of that level is inside when the scale-0
        voxel ``v * factor`` (its first) is.
        """
        out = np.zeros(box.shape, dtype=bool)
        if box.empty:
            return out
        bz, by, bx = self.block_shape
        fz, fy, fx = factor
        z0 = (box.start[0] * fz) // bz
        z1 = ((box.stop[0] - 1) * fz) // bz + 1
        y_lo, y_hi = (box.start[1] * fy) // by, ((box.stop[1] - 1) * fy) // by
        x_lo, x_hi = (box.start[2] * fx) // bx, ((box.stop[2] - 1) * fx) // bx
        for z, triples in self.planes(z0, z1).items():
            keep = (triples[:, 0] >= y_lo) & (triples[:, 0] <= y_hi)
            keep &= (triples[:, 2] >= x_lo) & (triples[:, 1] <= x_hi)
            if not keep.any():
                continue
            zs = _level_range(z, z, bz, fz, box.start[0], box.stop[0])
            for y, xa, xb in triples[keep].tolist():
                ys = _level_range(y, y, by, fy, box.start[1], box.stop[1])
                xs = _level_range(xa, xb, bx, fx, box.start[2], box.stop[2])
                out[zs, ys, xs] = True
        return out


def roi_contains(reader: RoiReader, points_zyx: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
    """Whether each voxel ``(z, y, x)`` of ``points_zyx`` ((N, 3) integers) lies in the
    ROI ``reader`` reads: an ``(N,)`` bool array."""
    return reader.contains(points_zyx)


def reader_for(reader: VersionedReader, config: dict[str, object]) -> RoiReader:
    """A :class:`RoiReader` over ``reader``, an roi instance's view (or joined
    transaction view) whose stored config is ``config``."""
    return RoiReader(reader, RoiConfig.from_json(config).block_shape)


def _spans_of(planes: dict[int, np.ndarray]) -> np.ndarray:
    if not planes:
        return NO_SPANS.copy()
    parts = [np.column_stack([np.full(len(t), z, dtype=np.int64), t]) for z, t in planes.items()]
    return np.concatenate(parts)


def _in_plane(triples: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Whether blocks ``(ys, xs)`` of one plane lie in its sorted, disjoint triples."""

    # (y, x) as one int64 that sorts as the pair does: y's band, then x within it
    def packed(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        return (y.astype(np.int64) << 32) + (x.astype(np.int64) - INT32_MIN)

    starts = packed(triples[:, 0], triples[:, 1])
    ends = packed(triples[:, 0], triples[:, 2])
    keys_ = packed(ys, xs)
    i = np.searchsorted(starts, keys_, side="right") - 1
    found = i >= 0
    found[found] = keys_[found] <= ends[i[found]]
    return found


def _level_range(first: int, last: int, block: int, factor: int, lo: int, hi: int) -> slice:
    """The slice, relative to ``lo``, of the voxels ``v`` in ``[lo, hi)`` of a level with
    ``factor`` whose scale-0 voxel ``v * factor`` lies in blocks ``first..last``."""
    begin = -((-first * block) // factor)  # ceil(first * block / factor)
    end = -((-(last + 1) * block) // factor)
    return slice(max(begin, lo) - lo, max(min(end, hi), lo) - lo)
