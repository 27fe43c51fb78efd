"""DVID sparse volumes: runs of voxels along x, and their ``rles``/``srles`` encodings.

A run is one row ``(x, y, z, length)`` of an ``int32`` array of shape ``(n, 4)``: the
voxels ``(x .. x+length-1, y, z)``. Rows keep DVID's wire order (x first) because they go
to the wire unchanged; everything else here (masks, boxes, offsets, points) is numpy's
``(z, y, x)``, as in the rest of voxhub.

Wire formats (dvid.md §2.7, ``GET sparsevol``):

* ``rles``: a 12-byte header, then the spans as little-endian ``int32 x, y, z, length``.
  Header: byte 0 payload descriptor = 0 (binary), uint8 dimensions = 3, uint8 run
  dimension = 0 (x), a reserved byte, uint32 voxel count, uint32 span count. DVID never
  fills the voxel count in (it is always 0), so we write 0 and ignore it on reading. This
  is also the body of ``POST split`` and ``POST split-supervoxel``.
* ``srles``: the same spans with no header.
* ``sparsevol-coarse``: the ``rles`` format over *block* coordinates instead of voxels.

Runs produced here are sorted by z, then y, then x and never overlap. DVID cuts its runs
at block boundaries, so two encodings of the same voxels need not be byte-equal: compare
voxel sets (:func:`mask_in_box`, :func:`voxels_of_runs`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3, vec3

Runs = npt.NDArray[np.int32]
"""``(n, 4)`` int32 rows ``(x, y, z, length)``."""

HEADER_SIZE = 12
SPAN_SIZE = 16
_HEADER = struct.Struct("<BBBBII")  # descriptor, dims, run dim, reserved, voxels, spans
_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


def empty_runs() -> Runs:
    """No runs."""
    return np.zeros((0, 4), np.int32)


def runs_from_mask(mask: npt.NDArray[np.generic], offset: Vec3 = (0, 0, 0)) -> Runs:
    """The runs along x of the set voxels of a ``(z, y, x)`` mask placed at ``offset``.

    Voxel ``mask[i, j, k]`` is at ``(z, y, x) = offset + (i, j, k)``; nonzero means set.

    >>> m = np.zeros((1, 2, 6), bool)
    >>> m[0, 1, 1:3] = m[0, 1, 4] = True
    >>> runs_from_mask(m, (10, -5, 100)).tolist()
    [[101, -4, 10, 2], [104, -4, 10, 1]]
    """
    oz, oy, ox = vec3(offset, "mask offset")
    if mask.ndim != 3:
        raise InvalidRequest(f"mask must be 3-d (z, y, x), got shape {mask.shape}")
    z, y, x = mask.shape
    # Rows laid end to end, each with a False column on both sides, so every run opens
    # and closes inside its row: a run starts after a 0->1 step of the flat array and
    # ends at the next 1->0 step. One flat diff and two flatnonzero calls: ~0.2 ms for a
    # 64³ block, 13x faster than a 3-d diff with np.nonzero.
    width = x + 2
    padded = np.zeros((z * y, width), np.int8)
    padded[:, 1:-1] = (mask != 0).reshape(z * y, x)
    flat = padded.ravel()
    step = flat[1:] - flat[:-1]
    starts = np.flatnonzero(step == 1)
    stops = np.flatnonzero(step == -1)
    row = starts // width
    runs = np.empty((starts.size, 4), np.int64)
    runs[:, 0] = starts % width + ox
    runs[:, 1] = row % y + oy if y else oy
    runs[:, 2] = row // y + oz if y else oz
    runs[:, 3] = stops - starts
    return _checked(runs, "mask")


def runs_from_points(points: Iterable[Vec3] | npt.NDArray[np.integer]) -> Runs:
    """The runs along x covering a set of ``(z, y, x)`` points (duplicates are merged).

    >>> runs_from_points([(0, 0, 3), (0, 0, 1), (0, 0, 2), (1, 0, 2), (0, 0, 2)]).tolist()
    [[1, 0, 0, 3], [2, 0, 1, 1]]
    """
    pts = np.asarray(points if isinstance(points, np.ndarray) else list(points), np.int64)
    pts = pts.reshape(-1, 3)
    if len(pts) == 0:
        return empty_runs()
    pts = np.unique(pts, axis=0)  # sorted by z, then y, then x
    # A new run starts at the first point, on a new row, or after a gap in x.
    new = np.ones(len(pts), bool)
    new[1:] = (
        (pts[1:, 0] != pts[:-1, 0]) | (pts[1:, 1] != pts[:-1, 1]) | (pts[1:, 2] != pts[:-1, 2] + 1)
    )
    first = np.flatnonzero(new)
    lengths = np.diff(np.append(first, len(pts)))
    heads = pts[first]
    runs = np.stack([heads[:, 2], heads[:, 1], heads[:, 0], lengths], axis=1)
    return _checked(runs, "points")


def encode_rles(runs: npt.NDArray[np.integer]) -> bytes:
    """The ``rles`` body: DVID's 12-byte header (voxel count 0, as DVID sends) + spans.

    >>> body = encode_rles(np.array([[1, 2, 3, 4]]))
    >>> body[:12].hex(), body[12:] == np.array([1, 2, 3, 4], "<i4").tobytes()
    ('000300000000000001000000', True)
    """
    checked = _checked(runs, "runs")
    return _HEADER.pack(0, 3, 0, 0, 0, len(checked)) + encode_srles(checked)


def encode_srles(runs: npt.NDArray[np.integer]) -> bytes:
    """The ``srles`` body: spans only, little-endian ``int32 x, y, z, length``."""
    return _checked(runs, "runs").astype("<i4").tobytes()


def encode_coarse(block_coords: Iterable[Vec3] | npt.NDArray[np.integer]) -> bytes:
    """The ``sparsevol-coarse`` body: the ``rles`` format over ``(z, y, x)`` block coords."""
    return encode_rles(runs_from_points(block_coords))


def decode_rles(data: bytes | bytearray | memoryview) -> Runs:
    """Parse an ``rles`` body (a sparsevol, or a split POST body); refuse malformed ones.

    >>> decode_rles(encode_rles(np.array([[-1, 2, 3, 4]]))).tolist()
    [[-1, 2, 3, 4]]
    """
    view = memoryview(data).cast("B")
    if len(view) < HEADER_SIZE:
        raise InvalidRequest(
            f"sparsevol body has {len(view)} bytes, shorter than its {HEADER_SIZE}-byte header"
        )
    descriptor, dims, run_dim, _reserved, _voxels, spans = _HEADER.unpack_from(view)
    if descriptor != 0:
        raise InvalidRequest(f"sparsevol payload descriptor must be 0 (binary), got {descriptor}")
    if dims != 3:
        raise InvalidRequest(f"sparsevol must have 3 dimensions, header says {dims}")
    if run_dim != 0:
        raise InvalidRequest(f"sparsevol runs must be along x (dimension 0), got {run_dim}")
    expected = HEADER_SIZE + SPAN_SIZE * spans
    if len(view) != expected:
        raise InvalidRequest(
            f"sparsevol header announces {spans} spans ({expected} bytes) "
            f"but the body has {len(view)} bytes"
        )
    return _spans(view[HEADER_SIZE:], "sparsevol")


def decode_srles(data: bytes | bytearray | memoryview) -> Runs:
    """Parse an ``srles`` body (spans with no header)."""
    view = memoryview(data).cast("B")
    if len(view) % SPAN_SIZE:
        raise InvalidRequest(
            f"srles body has {len(view)} bytes, not a whole number of {SPAN_SIZE}-byte spans"
        )
    return _spans(view, "srles")


def clip_runs(runs: npt.NDArray[np.integer], box: Box) -> Runs:
    """The parts of ``runs`` inside the half-open ``(z, y, x)`` box; empty parts dropped.

    DVID's ``minx=&maxx=&miny=…`` query bounds are *inclusive*: turn them into a box with
    :func:`bounds_box` first.

    >>> clip_runs(np.array([[0, 0, 0, 10], [0, 1, 0, 10]]), Box((0, 0, 2), (1, 1, 5))).tolist()
    [[2, 0, 0, 3]]
    """
    r = _checked(runs, "runs").astype(np.int64)
    (z0, y0, x0), (z1, y1, x1) = box.start, box.stop
    lo = np.maximum(r[:, 0], x0)
    hi = np.minimum(r[:, 0] + r[:, 3], x1)
    keep = (r[:, 2] >= z0) & (r[:, 2] < z1) & (r[:, 1] >= y0) & (r[:, 1] < y1) & (hi > lo)
    out: Runs = np.stack([lo, r[:, 1], r[:, 2], hi - lo], axis=1)[keep].astype(np.int32)
    return out


def bounds_box(
    minx: int | None = None,
    maxx: int | None = None,
    miny: int | None = None,
    maxy: int | None = None,
    minz: int | None = None,
    maxz: int | None = None,
) -> Box:
    """The box of DVID's inclusive ``minx..maxx`` (…) query bounds; ``None`` = unbounded.

    Unbounded means the whole int32 range that runs can address. Bounds that cross
    (``max < min``) select nothing: the box is empty.

    >>> bounds_box(minx=5, maxx=5, minz=-3)
    Box(start=(-3, -2147483648, 5), stop=(2147483648, 2147483648, 6))
    """
    start, stop = [], []
    for lo, hi in ((minz, maxz), (miny, maxy), (minx, maxx)):
        a = _INT32_MIN if lo is None else lo
        b = _INT32_MAX + 1 if hi is None else hi + 1
        start.append(a)
        stop.append(max(a, b))
    return Box((start[0], start[1], start[2]), (stop[0], stop[1], stop[2]))


def runs_bounds(runs: npt.NDArray[np.integer]) -> Box:
    """The smallest ``(z, y, x)`` box holding every voxel of ``runs`` (empty if none)."""
    r = _checked(runs, "runs").astype(np.int64)
    if len(r) == 0:
        return Box((0, 0, 0), (0, 0, 0))
    return Box(
        (int(r[:, 2].min()), int(r[:, 1].min()), int(r[:, 0].min())),
        (int(r[:, 2].max()) + 1, int(r[:, 1].max()) + 1, int((r[:, 0] + r[:, 3]).max())),
    )


def mask_in_box(runs: npt.NDArray[np.integer], box: Box) -> npt.NDArray[np.bool_]:
    """Rasterise ``runs`` into a boolean ``(z, y, x)`` array covering ``box``.

    Runs may overlap and may reach outside the box; the outside part is dropped.

    >>> mask_in_box(np.array([[-2, 0, 0, 4]]), Box((0, 0, 0), (1, 1, 4))).astype(int).tolist()
    [[[1, 1, 0, 0]]]
    """
    r = clip_runs(runs, box).astype(np.int64)
    nz, ny, nx = box.shape
    width = nx + 1  # one spare column so that a run ending at the box edge has a slot
    size = nz * ny * width
    # +1 where a run starts, -1 just past its end; a running sum along x then counts the
    # runs covering each voxel.
    row = ((r[:, 2] - box.start[0]) * ny + (r[:, 1] - box.start[1])) * width
    start = row + (r[:, 0] - box.start[2])
    delta = np.bincount(start, minlength=size) - np.bincount(start + r[:, 3], minlength=size)
    cover = np.cumsum(delta.reshape(nz, ny, width), axis=2)
    mask: npt.NDArray[np.bool_] = cover[:, :, :nx] > 0
    return mask


def voxels_of_runs(runs: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
    """Every voxel of ``runs`` as ``(n, 3)`` int64 ``(z, y, x)`` rows, run by run.

    >>> voxels_of_runs(np.array([[5, 1, 2, 2]])).tolist()
    [[2, 1, 5], [2, 1, 6]]
    """
    r = _checked(runs, "runs").astype(np.int64)
    lengths = r[:, 3]
    which = np.repeat(np.arange(len(r)), lengths)
    first = np.cumsum(lengths) - lengths  # index of each run's first voxel in the output
    step = np.arange(int(lengths.sum())) - first[which]
    out: npt.NDArray[np.int64] = np.stack(
        [r[which, 2], r[which, 1], r[which, 0] + step], axis=1
    ).reshape(-1, 3)
    return out


def _spans(view: memoryview, what: str) -> Runs:
    """Spans from their little-endian wire bytes (length already checked), validated."""
    runs = np.frombuffer(view, "<i4").reshape(-1, 4).astype(np.int32)
    return _checked(runs, what)


def _checked(runs: npt.NDArray[np.integer], what: str) -> Runs:
    """``runs`` as ``(n, 4)`` int32, refusing non-positive lengths and int32 overflow."""
    arr = np.asarray(runs)
    if arr.size == 0:
        return empty_runs()
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InvalidRequest(f"{what}: runs must be (n, 4) rows of x, y, z, length")
    if arr.dtype.kind not in "iu":
        raise InvalidRequest(f"{what}: runs must be integers, got {arr.dtype}")
    if arr.dtype == np.uint64 and int(arr.max()) > _INT32_MAX:
        raise InvalidRequest(f"{what}: run coordinates exceed int32")
    wide = arr.astype(np.int64)
    short = np.flatnonzero(wide[:, 3] <= 0)
    if len(short):
        i = int(short[0])
        raise InvalidRequest(f"{what}: span {i} has length {int(wide[i, 3])}, must be positive")
    lo, hi = int(wide[:, :3].min()), int(wide[:, :3].max())
    end = int((wide[:, 0] + wide[:, 3]).max()) - 1  # last x of the longest-reaching run
    if lo < _INT32_MIN or max(hi, end) > _INT32_MAX:
        raise InvalidRequest(f"{what}: run coordinates exceed int32")
    return wide.astype(np.int32)
