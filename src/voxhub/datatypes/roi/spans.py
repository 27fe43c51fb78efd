"""Span lists: DVID's ``[z, y, x0, x1]`` runs of blocks, ``x1`` inclusive.

An ROI is a set of blocks; a span names the blocks ``(z, y, x0) .. (z, y, x1)``. The
canonical form of a set is its spans sorted by ``(z, y, x0)`` with overlapping and
touching runs of one row merged (DVID stores what it is sent, so ``GET roi`` may repeat
or overlap spans; here it answers the canonical form). Everything works on ``(N, 4)``
int64 arrays in numpy, never block by block, so an ROI of millions of blocks costs what
its spans cost.

Block coordinates are int32 (DVID's ``ChunkPoint3d``): wider values are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxhub.errors import InvalidRequest

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
#: an (N, 4) array of no spans
NO_SPANS = np.zeros((0, 4), dtype=np.int64)


def normalize(spans: np.ndarray) -> np.ndarray:
    """The canonical form (see the module doc) of valid ``(N, 4)`` spans.

    >>> normalize(np.array([[0, 1, 4, 6], [0, 1, 0, 2], [0, 1, 3, 3], [0, 0, 9, 9]]))
    array([[0, 0, 9, 9],
           [0, 1, 0, 6]])
    """
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 4)
    if len(spans) == 0:
        return NO_SPANS.copy()
    order = np.lexsort((spans[:, 2], spans[:, 1], spans[:, 0]))
    s = spans[order]
    new_row = np.ones(len(s), dtype=bool)
    new_row[1:] = (s[1:, 0] != s[:-1, 0]) | (s[1:, 1] != s[:-1, 1])
    row = np.cumsum(new_row) - 1
    # Shift each row's x into its own 2**32-wide band so one running maximum over the
    # whole array never carries a row's x1 into the next row.
    band = row.astype(np.int64) << 32
    x0 = s[:, 2] - INT32_MIN + band
    reach = np.maximum.accumulate(s[:, 3] - INT32_MIN + band)
    starts = np.ones(len(s), dtype=bool)
    starts[1:] = new_row[1:] | (x0[1:] > reach[:-1] + 1)
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, len(s) - 1)
    out = s[first].copy()
    out[:, 3] = reach[last] - band[last] + INT32_MIN
    return out


def block_count(spans: np.ndarray) -> int:
    """How many blocks canonical ``spans`` cover."""
    return int((spans[:, 3] - spans[:, 2] + 1).sum()) if len(spans) else 0


def spans_from_json(value: Any, what: str = "ROI") -> np.ndarray:
    """Spans posted as DVID's JSON (a list of ``[z, y, x0, x1]`` integer lists), checked
    and canonical; :class:`InvalidRequest` naming the first bad span otherwise."""
    if not isinstance(value, list):
        raise InvalidRequest(
            f"{what} must be a JSON list of [z, y, x0, x1] spans, got {type(value).__name__}"
        )
    return check_spans(value, what)


def check_spans(value: Any, what: str = "ROI") -> np.ndarray:
    """``value`` (a sequence of 4-integer spans, or an ``(N, 4)`` integer array) checked:
    integers within int32 and ``x0 <= x1``; the canonical spans."""
    if isinstance(value, np.ndarray):
        return _check_array(value, what)
    rows = []
    for i, span in enumerate(value):
        if not isinstance(span, list | tuple) or len(span) != 4:
            raise InvalidRequest(
                f"{what} span {i} must be a list of 4 integers [z, y, x0, x1], got {span!r}"
            )
        for v in span:
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                raise InvalidRequest(f"{what} span {i} {list(span)!r} holds a non-integer {v!r}")
            if not INT32_MIN <= v <= INT32_MAX:
                raise InvalidRequest(
                    f"{what} span {i} {list(span)!r}: block coordinates must fit in int32"
                )
        if span[3] < span[2]:
            raise InvalidRequest(f"{what} span {i} {list(span)!r} has x1 < x0")
        rows.append([int(v) for v in span])
    return normalize(np.array(rows, dtype=np.int64).reshape(-1, 4))


def _check_array(array: np.ndarray, what: str) -> np.ndarray:
    if array.dtype.kind not in "iu":
        raise InvalidRequest(f"{what} spans must be integers, got dtype {array.dtype}")
    if array.size == 0:
        return NO_SPANS.copy()
    if array.ndim != 2 or array.shape[1] != 4:
        raise InvalidRequest(f"{what} spans must have shape (N, 4), got {array.shape}")
    wide = array.astype(np.int64) if array.dtype != np.uint64 else None
    if wide is None:
        if int(array.max()) > INT32_MAX:
            raise InvalidRequest(f"{what}: block coordinates must fit in int32")
        wide = array.astype(np.int64)
    if int(wide.min()) < INT32_MIN or int(wide.max()) > INT32_MAX:
        raise InvalidRequest(f"{what}: block coordinates must fit in int32")
    bad = np.flatnonzero(wide[:, 3] < wide[:, 2])
    if len(bad):
        raise InvalidRequest(f"{what} span {int(bad[0])} {wide[bad[0]].tolist()} has x1 < x0")
    return normalize(wide)
