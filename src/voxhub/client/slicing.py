"""numpy-style indexing of a volume, turned into a :class:`~voxhub.geometry.Box`.

Indices are absolute voxel coordinates in ``(z, y, x)`` order, as numpy users expect of a
volume whose origin is ``(0, 0, 0)``:

* ``vol[z0:z1, y0:y1, x0:x1]`` reads that box; fewer than 3 indices and ``...`` are filled
  with ``:``.
* An open slice end takes the volume's bounds (the extents written so far at that node).
* A negative index counts back from the end of the bounds, as in numpy. To address real
  negative coordinates (DVID volumes may have them) use ``vol.read(Box(...))``.
* An integer index selects one plane and drops that axis from the result.
* Steps other than 1 are refused (a strided read of compressed blocks would decode them
  all anyway: read the box and stride the array).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import EllipsisType
from typing import TypeAlias

from voxhub.errors import InvalidRequest
from voxhub.geometry import Box

Index: TypeAlias = int | slice | EllipsisType
IndexKey: TypeAlias = Index | tuple[Index, ...]


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
        fill: list[Index] = [slice(None)] * (3 - (len(items) - 1))
        items = items[:at] + fill + items[at + 1 :]
    if len(items) > 3:
        raise InvalidRequest(f"too many indices for a 3-D volume: {len(items)} (z, y, x)")
    return items + [slice(None)] * (3 - len(items))


def _resolve(value: int | None, default: int, lo: int, hi: int, axis: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(value.__index__())
        except (AttributeError, TypeError):
            raise InvalidRequest(
                f"index on axis {axis} must be an integer, got {value!r}"
            ) from None
    return hi + value if value < 0 else value


def select(key: IndexKey, bounds: Box) -> Selection:
    """Turn a numpy-style index into a :class:`Selection` against ``bounds``.

    >>> b = Box((0, 0, 0), (10, 20, 30))
    >>> select((slice(2, 4), 5), b)
    Selection(box=Box(start=(2, 5, 0), stop=(4, 6, 30)), dropped_axes=(1,))
    >>> select((-1,), b).box
    Box(start=(9, 0, 0), stop=(10, 20, 30))
    """
    start: list[int] = []
    stop: list[int] = []
    dropped: list[int] = []
    for axis, (item, lo, hi) in enumerate(
        zip(_expand(key), bounds.start, bounds.stop, strict=True)
    ):
        name = "zyx"[axis]
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise InvalidRequest(
                    f"step {item.step!r} on axis {name} is not supported; read the box "
                    "and stride the numpy array"
                )
            a = _resolve(item.start, lo, lo, hi, name)
            b = _resolve(item.stop, hi, lo, hi, name)
            start.append(a)
            stop.append(max(a, b))
        elif item is Ellipsis:  # pragma: no cover - removed by _expand
            raise InvalidRequest("unexpected ellipsis")
        else:
            i = _resolve(item, lo, lo, hi, name)
            start.append(i)
            stop.append(i + 1)
            dropped.append(axis)
    return Selection(
        Box((start[0], start[1], start[2]), (stop[0], stop[1], stop[2])), tuple(dropped)
    )


def write_selection(key: IndexKey, bounds: Box | None, value_shape: tuple[int, ...]) -> Selection:
    """Like :func:`select`, for writes: an open end with no bounds takes the value's extent.

    A volume with nothing written yet has no bounds, so ``vol[:64, :64, :64] = a`` and
    ``vol[...] = a`` start at the origin and take their size from ``a``.
    """
    if bounds is not None:
        return select(key, bounds)
    items = _expand(key)
    # Integer indices drop axes: re-insert them so the value's shape lines up by axis.
    shape = list(value_shape)
    for axis, item in enumerate(items):
        if not isinstance(item, slice):
            shape.insert(axis, 1)
    if len(shape) != 3:
        shape = [1] * (3 - len(shape)) + shape if len(shape) < 3 else shape
    if len(shape) != 3:
        raise InvalidRequest(f"cannot write an array of shape {value_shape} into a 3-D volume")
    starts = []
    for axis, item in enumerate(items):
        s = item.start if isinstance(item, slice) else item
        starts.append(0 if s is None else _resolve(s, 0, 0, 0, "zyx"[axis]))  # type: ignore[arg-type]
    if any(s < 0 for s in starts):
        raise InvalidRequest("negative indices need bounds; the volume has no data yet")
    implied = Box(
        (starts[0], starts[1], starts[2]),
        (starts[0] + shape[0], starts[1] + shape[1], starts[2] + shape[2]),
    )
    return select(key, implied)
