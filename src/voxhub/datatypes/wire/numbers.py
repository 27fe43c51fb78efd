"""Integers from URLs and query strings, parsed strictly and bounded before conversion.

Python's ``int()`` is too forgiving for the wire: it takes any Unicode decimal digit
(``int("٣") == 3``), surrounding spaces and ``_`` separators, and ``str.isdigit`` says yes
to ``"²"``, which ``int()`` then refuses with a bare ``ValueError``. A string of thousands
of digits costs quadratic time to convert, or trips Python's 4,300-digit guard. So every
number is matched against ASCII ``[+-]?[0-9]+`` and its length is bounded *before*
``int()`` runs, and every value is range-checked; each failure is an
:class:`~voxhub.errors.InvalidRequest` naming the field and the text.
"""

from __future__ import annotations

import re

from voxhub.errors import InvalidRequest

_INTEGER = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"[0-9]+")
#: more digits than any int64/uint64 needs, even with leading zeros a client may send
_MAX_DIGITS = 32
UINT64_MAX = 2**64 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: voxel coordinates and sizes: room to add two of them without leaving int64
COORD_LIMIT = 2**62


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def parse_int(text: str, what: str, low: int, high: int) -> int:
    """The decimal integer ``text`` in ``[low, high]``; 400 naming ``what`` otherwise."""
    if len(text) > _MAX_DIGITS or not _INTEGER.fullmatch(text):
        raise InvalidRequest(f"{what} {_shown(text)} must be an integer")
    value = int(text)
    if not low <= value <= high:
        raise InvalidRequest(f"{what} {_shown(text)} out of range {low}..{high}")
    return value


def parse_uint64(text: str, what: str) -> int:
    """An unsigned 64-bit integer (0 allowed)."""
    if len(text) > _MAX_DIGITS or not _UNSIGNED.fullmatch(text):
        raise InvalidRequest(f"{what} {_shown(text)} must be a decimal unsigned 64-bit id")
    return parse_int(text, what, 0, UINT64_MAX)


def parse_label(text: str, what: str = "label") -> int:
    """A uint64 label from a URL; 0 is refused as DVID's protected background value."""
    value = parse_uint64(text, what)
    if value == 0:
        raise InvalidRequest(f"{what} 0 is the protected background value")
    return value


def parse_coord(text: str, what: str) -> int:
    """A voxel coordinate or size (``|v| < 2**62``, so sums of two stay in int64)."""
    return parse_int(text, what, -COORD_LIMIT, COORD_LIMIT)
