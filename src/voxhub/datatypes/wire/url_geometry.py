"""URL geometry → :class:`~voxhub.geometry.Box`: the one place axis order is converted.

DVID paths give sizes and offsets as ``x_y_z`` strings and name a plane by ``dims``
(``xy``, ``xz``, ``yz`` or their numeric forms ``0_1``, ``0_2``, ``1_2``; ``0_1_2`` or
``vol`` for 3-D). ndstore paths give half-open ranges ``x0,x1/y0,y1/z0,z1``. Everything
returned here is ``(z, y, x)``. Every error is an :class:`InvalidRequest` naming the field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from voxhub.datatypes.wire.numbers import parse_coord, parse_int
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3

_SEPARATORS = re.compile(r"[_,]")

#: DVID's spellings of the dimensions of a request, as axis numbers (0 = x, 1 = y, 2 = z).
_DIMS: dict[str, tuple[int, ...]] = {
    "xy": (0, 1),
    "xz": (0, 2),
    "yz": (1, 2),
    "0_1": (0, 1),
    "0_2": (0, 2),
    "1_2": (1, 2),
    "0_1_2": (0, 1, 2),
    "xyz": (0, 1, 2),
    "vol": (0, 1, 2),
}


@dataclass(frozen=True, slots=True)
class Dims:
    """The axes of a request in DVID numbering (0 = x, 1 = y, 2 = z).

    A 2-D request's image has the first axis as columns and the second as rows
    (``xy``: rows y, columns x; ``xz``: rows z, columns x; ``yz``: rows z, columns y).
    """

    axes: tuple[int, ...]

    @property
    def is_3d(self) -> bool:
        return len(self.axes) == 3

    @property
    def name(self) -> str:
        return "0_1_2" if self.is_3d else "".join("xyz"[a] for a in self.axes)


def parse_dims(text: str) -> Dims:
    """``"xy"``, ``"0_2"``, ``"0,1,2"``, ``"vol"``... → :class:`Dims`."""
    axes = _DIMS.get(text.lower().replace(",", "_"))
    if axes is None:
        raise InvalidRequest(
            f"dims {text!r} is not one of xy, xz, yz, 0_1, 0_2, 1_2 (2-D) or 0_1_2, vol (3-D)"
        )
    return Dims(axes)


def parse_ints(text: str, count: int, field: str) -> tuple[int, ...]:
    """``count`` integers separated by ``_`` (or ``,``), in the order written."""
    parts = _SEPARATORS.split(text)
    if len(parts) != count:
        raise InvalidRequest(
            f"{field} {text!r} must be {count} integers joined by '_', got {len(parts)} values"
        )
    return tuple(parse_coord(p, field) for p in parts)


def parse_block_list(text: str) -> list[Vec3]:
    """``?blocks=x,y,z[,x,y,z...]`` of ``specificblocks`` → block coordinates ``(z, y, x)``,
    in the order given."""
    if not text:
        raise InvalidRequest("specificblocks needs ?blocks=x,y,z[,x,y,z...]")
    count = len(text.split(","))
    if count % 3:
        raise InvalidRequest(f"blocks has {count} numbers, not a multiple of 3 (x,y,z triples)")
    values = parse_ints(text, count, "blocks")
    return [(values[i + 2], values[i + 1], values[i]) for i in range(0, count, 3)]


def parse_floats(text: str, count: int, field: str) -> tuple[float, ...]:
    """``count`` finite numbers separated by ``_`` (or ``,``), in the order written."""
    parts = _SEPARATORS.split(text)
    if len(parts) != count:
        raise InvalidRequest(f"{field} {text!r} must be {count} numbers joined by '_'")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise InvalidRequest(f"{field} {text!r} must be numbers joined by '_'") from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidRequest(f"{field} {text!r} must be finite numbers")
    return values


def xyz_to_zyx(values: tuple[int, ...]) -> Vec3:
    """Reverse a DVID ``(x, y, z)`` triple into ``(z, y, x)``."""
    return (values[2], values[1], values[0])


def zyx_to_xyz(values: tuple[int, int, int]) -> list[int]:
    """Reverse a ``(z, y, x)`` triple into DVID's ``[x, y, z]``."""
    return [values[2], values[1], values[0]]


def dvid_box(dims: Dims, size: str, offset: str) -> Box:
    """The box of a DVID ``{dims}/{size}/{offset}`` request.

    The offset is always 3-D; the size has one value per axis of ``dims`` and the other
    axis of a 2-D request is one voxel thick.
    """
    sizes = parse_ints(size, len(dims.axes), "size")
    if any(s <= 0 for s in sizes):
        raise InvalidRequest(f"size {size!r} must be positive along every axis")
    start = parse_ints(offset, 3, "offset")
    shape_xyz = [1, 1, 1]
    for axis, s in zip(dims.axes, sizes, strict=True):
        shape_xyz[axis] = s
    return Box.from_shape(xyz_to_zyx(tuple(shape_xyz)), xyz_to_zyx(start))


def aligned_box(size: str, offset: str, block_shape: Vec3, what: str) -> Box:
    """The 3-D box of DVID ``size``/``offset`` segments, refused (naming ``what``) unless
    both are multiples of the block size."""
    box = dvid_box(Dims((0, 1, 2)), size, offset)
    bs = block_shape
    for field, text, values in (("offset", offset, box.start), ("size", size, box.shape)):
        if any(v % s for v, s in zip(values, bs, strict=True)):
            raise InvalidRequest(
                f"{what} {field} {text!r} is not a multiple of the block size "
                f"{bs[2]}_{bs[1]}_{bs[0]}"
            )
    return box


def extents_json(box: Box | None) -> dict[str, list[int]] | None:
    """``{"MinPoint", "MaxPoint"}`` (x,y,z, inclusive) of ``box``; ``None`` if absent."""
    if box is None:
        return None
    lo, hi = box.start, box.stop
    return {"MinPoint": [lo[2], lo[1], lo[0]], "MaxPoint": [hi[2] - 1, hi[1] - 1, hi[0] - 1]}


def parse_block_span(block_offset: str, nblocks: str) -> tuple[Vec3, int]:
    """``(first block (z, y, x), count)`` of a DVID ``blocks/{bx_by_bz}/{spanX}`` request."""
    start = xyz_to_zyx(parse_ints(block_offset, 3, "block offset"))
    count = parse_int(nblocks, "block count", 1, 2**31 - 1)
    return start, count


def ndstore_range(text: str, axis: str) -> tuple[int, int]:
    """An ndstore half-open range ``"a,b"`` with ``a < b``."""
    parts = text.split(",")
    if len(parts) != 2:
        raise InvalidRequest(f"{axis} range {text[:40]!r} must be two integers 'start,stop'")
    lo, hi = (parse_coord(p, f"{axis} range") for p in parts)
    if lo >= hi:
        raise InvalidRequest(f"{axis} range {text!r} must have start < stop")
    return lo, hi


def ndstore_coord(text: str, axis: str) -> tuple[int, int]:
    """A single ndstore slice coordinate ``"c"`` as the range ``(c, c + 1)``."""
    value = parse_coord(text, f"{axis} coordinate")
    return value, value + 1


def ndstore_box(x: tuple[int, int], y: tuple[int, int], z: tuple[int, int]) -> Box:
    """The ``(z, y, x)`` box of ndstore ranges given in ``x, y, z`` order."""
    return Box((z[0], y[0], x[0]), (z[1], y[1], x[1]))


def describe_xyz(box: Box) -> str:
    """A box in ndstore's own words: ``x [a,b) y [c,d) z [e,f)``."""
    return (
        f"x [{box.start[2]},{box.stop[2]}) y [{box.start[1]},{box.stop[1]}) "
        f"z [{box.start[0]},{box.stop[0]})"
    )
