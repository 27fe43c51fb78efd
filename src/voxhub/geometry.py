"""Geometry: boxes and block grids, always in numpy's C order ``(z, y, x)``.

DVID URLs give sizes and offsets as ``x_y_z`` and ndstore URLs as ``x0,x1/y0,y1/z0,z1``;
those are converted at the HTTP edge. Everything in this package is ``(z, y, x)``.

A :class:`Box` is half-open: ``start <= p < stop`` on every axis. Coordinates may be
negative (DVID volumes often are). Block ``(bz, by, bx)`` of a grid with block shape
``(sz, sy, sx)`` covers ``[bz*sz, (bz+1)*sz) x ...``; floor division keeps this right for
negative coordinates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product

from voxhub.errors import InvalidRequest

Vec3 = tuple[int, int, int]


def vec3(values: object, what: str = "value") -> Vec3:
    """Coerce a length-3 sequence of integers to a ``Vec3``; say what was wrong if not."""
    try:
        items = list(values)  # type: ignore[call-overload]
    except TypeError:
        raise InvalidRequest(f"{what} must be 3 integers (z, y, x), got {values!r}") from None
    if len(items) != 3:
        raise InvalidRequest(f"{what} must have 3 values (z, y, x), got {len(items)}")
    out = []
    for v in items:
        try:
            whole = not isinstance(v, bool) and int(v) == v
        except (TypeError, ValueError, OverflowError):  # "x", None, nan, inf
            whole = False
        if not whole:
            raise InvalidRequest(f"{what} must be integers, got {values!r}")
        out.append(int(v))
    return (out[0], out[1], out[2])


@dataclass(frozen=True, slots=True)
class Box:
    """Immutable half-open box ``[start, stop)`` in ``(z, y, x)`` voxel coordinates.

    >>> b = Box((0, 0, 0), (10, 20, 30))
    >>> b.shape, b.size
    ((10, 20, 30), 6000)
    >>> b.intersect(Box((5, 5, 5), (50, 50, 50)))
    Box(start=(5, 5, 5), stop=(10, 20, 30))
    """

    start: Vec3
    stop: Vec3

    def __post_init__(self) -> None:
        if any(a > b for a, b in zip(self.start, self.stop, strict=True)):
            raise InvalidRequest(f"box start {self.start} exceeds stop {self.stop}")

    @classmethod
    def from_shape(cls, shape: Vec3, offset: Vec3 = (0, 0, 0)) -> Box:
        """The box of ``shape`` voxels starting at ``offset``."""
        return cls(offset, (offset[0] + shape[0], offset[1] + shape[1], offset[2] + shape[2]))

    @property
    def shape(self) -> Vec3:
        return (
            self.stop[0] - self.start[0],
            self.stop[1] - self.start[1],
            self.stop[2] - self.start[2],
        )

    @property
    def size(self) -> int:
        z, y, x = self.shape
        return z * y * x

    @property
    def empty(self) -> bool:
        return self.size == 0

    def intersect(self, other: Box) -> Box:
        """The common part of two boxes (an empty box at ``start`` if they do not meet)."""
        lo = (
            max(self.start[0], other.start[0]),
            max(self.start[1], other.start[1]),
            max(self.start[2], other.start[2]),
        )
        hi = (
            max(lo[0], min(self.stop[0], other.stop[0])),
            max(lo[1], min(self.stop[1], other.stop[1])),
            max(lo[2], min(self.stop[2], other.stop[2])),
        )
        return Box(lo, hi)

    def union(self, other: Box) -> Box:
        """The smallest box holding both (an empty box is ignored)."""
        if self.empty:
            return other
        if other.empty:
            return self
        return Box(
            (
                min(self.start[0], other.start[0]),
                min(self.start[1], other.start[1]),
                min(self.start[2], other.start[2]),
            ),
            (
                max(self.stop[0], other.stop[0]),
                max(self.stop[1], other.stop[1]),
                max(self.stop[2], other.stop[2]),
            ),
        )

    def contains(self, other: Box) -> bool:
        """Whether ``other`` lies entirely inside this box."""
        return all(
            a <= c and d <= b
            for a, b, c, d in zip(self.start, self.stop, other.start, other.stop, strict=True)
        )

    def translate(self, offset: Vec3) -> Box:
        """This box moved by ``offset``."""
        return Box(
            (self.start[0] + offset[0], self.start[1] + offset[1], self.start[2] + offset[2]),
            (self.stop[0] + offset[0], self.stop[1] + offset[1], self.stop[2] + offset[2]),
        )

    def relative_to(self, origin: Vec3) -> tuple[slice, slice, slice]:
        """Numpy slices selecting this box inside an array whose ``[0,0,0]`` is ``origin``."""
        return (
            slice(self.start[0] - origin[0], self.stop[0] - origin[0]),
            slice(self.start[1] - origin[1], self.stop[1] - origin[1]),
            slice(self.start[2] - origin[2], self.stop[2] - origin[2]),
        )

    def downsample(self, factor: Vec3) -> Box:
        """The box at the next coarser scale covering every voxel of this one."""
        return Box(
            (
                self.start[0] // factor[0],
                self.start[1] // factor[1],
                self.start[2] // factor[2],
            ),
            (
                -(-self.stop[0] // factor[0]),
                -(-self.stop[1] // factor[1]),
                -(-self.stop[2] // factor[2]),
            ),
        )

    def upsample(self, factor: Vec3) -> Box:
        """The box at the next finer scale that this one covers."""
        return Box(
            (self.start[0] * factor[0], self.start[1] * factor[1], self.start[2] * factor[2]),
            (self.stop[0] * factor[0], self.stop[1] * factor[1], self.stop[2] * factor[2]),
        )


@dataclass(frozen=True, slots=True)
class BlockGrid:
    """A regular grid of blocks of ``block_shape`` voxels, block ``(0,0,0)`` at the origin.

    >>> g = BlockGrid((64, 64, 64))
    >>> list(g.blocks_in(Box((0, 0, 60), (1, 1, 70))))
    [(0, 0, 0), (0, 0, 1)]
    >>> g.block_box((0, 0, 1))
    Box(start=(0, 0, 64), stop=(64, 64, 128))
    """

    block_shape: Vec3

    def __post_init__(self) -> None:
        if any(s <= 0 for s in self.block_shape):
            raise InvalidRequest(f"block shape must be positive, got {self.block_shape}")

    def block_range(self, box: Box) -> Box:
        """The box of block coordinates whose blocks intersect ``box``."""
        if box.empty:
            return Box((0, 0, 0), (0, 0, 0))
        s = self.block_shape
        return Box(
            (box.start[0] // s[0], box.start[1] // s[1], box.start[2] // s[2]),
            (
                -(-box.stop[0] // s[0]),
                -(-box.stop[1] // s[1]),
                -(-box.stop[2] // s[2]),
            ),
        )

    def blocks_in(self, box: Box) -> Iterator[Vec3]:
        """Block coordinates intersecting ``box``, in z, then y, then x order."""
        r = self.block_range(box)
        yield from product(
            range(r.start[0], r.stop[0]),
            range(r.start[1], r.stop[1]),
            range(r.start[2], r.stop[2]),
        )

    def block_box(self, coord: Vec3) -> Box:
        """The voxel box of block ``coord``."""
        s = self.block_shape
        start = (coord[0] * s[0], coord[1] * s[1], coord[2] * s[2])
        return Box.from_shape(s, start)

    def aligned(self, box: Box) -> bool:
        """Whether ``box`` starts and stops on block boundaries."""
        return all(
            a % s == 0 and b % s == 0
            for a, b, s in zip(box.start, box.stop, self.block_shape, strict=True)
        )

    def expand(self, box: Box) -> Box:
        """The smallest block-aligned box containing ``box``."""
        return self.block_range(box).upsample(self.block_shape)
