"""Byte ranges of one value: HTTP ``Range`` headers and DVID's ``byte_start``/``byte_end``.

``Range`` headers follow DVID's rules (``parseHTTPRangeHeader``), shared with every other
ranged answer in :mod:`voxhub.datatypes.wire.byte_ranges`. ``byte_start``/``byte_end``
are inclusive and strict: both or neither, and both inside the value (400 otherwise).
"""

from __future__ import annotations

from voxhub.datatypes.wire.byte_ranges import ByteRange, parse_number
from voxhub.errors import InvalidRequest


def parse_inclusive(key: str, start: object, end: object) -> ByteRange | None:
    """DVID's ``byte_start``/``byte_end`` (query strings or JSON numbers), unchecked
    against a size; ``None`` when neither is given."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise InvalidRequest(f"range read for key {key!r} requires both byte_start and byte_end")
    a, b = _bound(key, "byte_start", start), _bound(key, "byte_end", end)
    if a > b:
        raise InvalidRequest(f"byte_start {a} must be <= byte_end {b} for key {key!r}")
    return ByteRange(a, b + 1)


def _bound(key: str, name: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number: int | None = value if value >= 0 else None
    else:
        number = parse_number(value) if isinstance(value, str) else None
    if number is None:
        raise InvalidRequest(f"{name} of key {key!r} must be an unsigned integer, got {value!r}")
    return number


def check_within(key: str, wanted: ByteRange, size: int) -> None:
    """Refuse an inclusive DVID range that reaches past the value (400, as DVID)."""
    if wanted.start >= size:
        raise InvalidRequest(
            f"byte_start {wanted.start} is outside value for key {key!r} with {size} bytes"
        )
    if wanted.stop > size:
        raise InvalidRequest(
            f"byte_end {wanted.stop - 1} is outside value for key {key!r} with {size} bytes"
        )
