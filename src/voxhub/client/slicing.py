"""numpy-style indexing of a volume, turned into a :class:`~voxhub.geometry.Box`.

A volume indexes like a numpy array of ``shape`` voxels whose ``[0, 0, 0]`` is the voxel
at the origin; ``shape`` is the stop corner of its bounds (see ``Volume``). Reads follow
numpy exactly:

* ``vol[z0:z1, y0:y1, x0:x1]`` reads that box; fewer than 3 indices and ``...`` are filled
  with ``:``.
* Open slice ends are ``0`` and the shape; negative indices count back from the shape;
  slice ends past the shape are clipped to it (``vol[0:10**9]`` is ``vol[:]``).
* An integer index selects one plane and drops that axis; outside ``[-n, n)`` it raises
  :class:`~voxhub.errors.OutOfBounds`, an ``IndexError``.
* Steps other than 1, ``None``/``np.newaxis``, booleans and index arrays are refused (a
  strided read of compressed blocks would decode them all anyway: read the box and stride
  the array).

Writes differ in one way, because a volume is unbounded (as in DVID): indices at or past
the shape are not clipped, they grow the volume. An open stop end takes the shape, unless
the start is already at or past it; then the value's own extent on that axis decides, so
``vol[...] = a`` on an empty volume writes ``a`` at the origin and ``vol[:, :, n:] = a``
appends along x. Voxels at negative coordinates lie outside this numpy view: reach them
with ``vol.read(Box(...))`` and ``vol.write(offset, array)``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from types import EllipsisType
from typing import TypeAlias

from voxhub.errors import InvalidRequest, OutOfBounds
from voxhub.geometry import Box, Vec3

Index: TypeAlias = int | slice | EllipsisType
IndexKey: TypeAlias = Index | tuple[Index, ...]

AXES = "zyx"


@dataclass(frozen=True, slots=True)
class Selection:
    """The box an index selects, and which axes integer indices removed."""

    box: Box
    dropped_axes: tuple[int, ...]

    @property
    def result_shape(self) -> tuple[int, ...]:
        """Shape of the numpy result after dropping integer-indexed axes."""
        return tuple(n for i, n in enumerate(self.box.shape) if i not in self.dropped_axes)


def _expand(key: IndexKey) -> list[Index]:
    items = list(key) if isinstance(key, tuple) else [key]
    n_ellipsis = sum(1 for k in items if k is Ellipsis)
    if n_ellipsis > 1:
        raise InvalidRequest("an index can only have a single ellipsis ('...')")
    if n_ellipsis:
        at = next(i for i, k in enumerate(items) if k is Ellipsis)
        fill: list[Index] = [slice(None)] * max(0, 3 - (len(items) - 1))
        items = items[:at] + fill + items[at + 1 :]
    if len(items) > 3:
        raise InvalidRequest(f"too many indices for a 3-D volume: {len(items)} (z, y, x)")
    return items + [slice(None)] * (3 - len(items))


def _integer(value: object, axis: int) -> int:
    """``value`` as a Python int (numpy integers welcome; bools and floats refused)."""
    if isinstance(value, bool) or value is None:
        raise InvalidRequest(
            f"index on axis {AXES[axis]} must be an integer or a slice, got {value!r}"
        )
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidRequest(
            f"index on axis {AXES[axis]} must be an integer or a slice, got {value!r}"
        ) from None


def _step(item: slice, axis: int) -> None:
    if item.step is not None and _integer(item.step, axis) != 1:
        raise InvalidRequest(
            f"step {item.step!r} on axis {AXES[axis]} is not supported; read the box "
            "and stride the numpy array"
        )


def _plane(item: object, n: int, axis: int, *, grow: bool) -> int:
    """The coordinate an integer index names (negative counts back from ``n``)."""
    i = _integer(item, axis)
    at = n + i if i < 0 else i
    if at < 0 or (at >= n and not grow):
        raise OutOfBounds(f"index {i} is out of bounds for axis {AXES[axis]} with size {n}")
    return at


def _end(value: object, n: int, axis: int, *, clip: bool) -> int:
    """A slice end: negative counts back from ``n`` (stopping at 0); past ``n`` is clipped
    to ``n`` when reading."""
    v = _integer(value, axis)
    if v < 0:
        return max(0, n + v)
    return min(v, n) if clip else v


def _box(start: list[int], stop: list[int]) -> Box:
    return Box((start[0], start[1], start[2]), (stop[0], stop[1], stop[2]))


def select(key: IndexKey, shape: Vec3) -> Selection:
    """Turn a numpy-style read index into a :class:`Selection` of a volume of ``shape``.

    >>> select((slice(2, 4), 5), (10, 20, 30))
    Selection(box=Box(start=(2, 5, 0), stop=(4, 6, 30)), dropped_axes=(1,))
    >>> select((-1, slice(-3, None), slice(None, 99)), (10, 20, 30)).box
    Box(start=(9, 17, 0), stop=(10, 20, 30))
    """
    start: list[int] = []
    stop: list[int] = []
    dropped: list[int] = []
    for axis, (item, n) in enumerate(zip(_expand(key), shape, strict=True)):
        if isinstance(item, slice):
            _step(item, axis)
            a = 0 if item.start is None else _end(item.start, n, axis, clip=True)
            b = n if item.stop is None else _end(item.stop, n, axis, clip=True)
            start.append(a)
            stop.append(max(a, b))
        else:
            i = _plane(item, n, axis, grow=False)
            start.append(i)
            stop.append(i + 1)
            dropped.append(axis)
    return Selection(_box(start, stop), tuple(dropped))


def write_selection(key: IndexKey, shape: Vec3, value_shape: tuple[int, ...]) -> Selection:
    """Like :func:`select`, for a write of a value of ``value_shape``: indices past
    ``shape`` grow the volume instead of being clipped or refused.

    >>> write_selection(..., (0, 0, 0), (2, 3, 4)).box  # an empty volume: the value decides
    Box(start=(0, 0, 0), stop=(2, 3, 4))
    >>> write_selection((slice(None), slice(None), slice(8, None)), (2, 3, 8), (2, 3, 5)).box
    Box(start=(0, 0, 8), stop=(2, 3, 13))
    """
    items = _expand(key)
    kept = [axis for axis, item in enumerate(items) if isinstance(item, slice)]
    if len(value_shape) > len(kept):
        value_shape = _squeeze_leading(value_shape, len(kept))
    # numpy broadcasting lines the value's dimensions up with the selection's last axes.
    extent = dict(zip(kept[len(kept) - len(value_shape) :], value_shape, strict=True))
    start: list[int] = []
    stop: list[int] = []
    dropped: list[int] = []
    for axis, (item, n) in enumerate(zip(items, shape, strict=True)):
        if isinstance(item, slice):
            _step(item, axis)
            a = 0 if item.start is None else _end(item.start, n, axis, clip=False)
            if item.stop is not None:
                b = _end(item.stop, n, axis, clip=False)
            else:
                b = n if a < n else a + extent.get(axis, 1)
            start.append(a)
            stop.append(max(a, b))
        else:
            i = _plane(item, n, axis, grow=True)
            start.append(i)
            stop.append(i + 1)
            dropped.append(axis)
    return Selection(_box(start, stop), tuple(dropped))


def _squeeze_leading(value_shape: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """numpy lets a value carry extra leading length-1 axes; anything else cannot fit."""
    extra = value_shape[: len(value_shape) - ndim]
    if any(n != 1 for n in extra):
        raise InvalidRequest(
            f"cannot write an array of shape {value_shape} into a selection of {ndim} axes"
        )
    return value_shape[len(value_shape) - ndim :]
