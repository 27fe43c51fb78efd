"""Byte ranges of one value: HTTP ``Range`` headers and DVID's ``byte_start``/``byte_end``.

DVID's rules (``parseHTTPRangeHeader``): one range ``bytes=a-b``, ``bytes=a-`` or the
suffix ``bytes=-n``; an end past the value is clamped; a start at or past the end, a
suffix of 0, or any range of an empty value is unsatisfiable (416 with ``Content-Range:
bytes */N``); anything else malformed, or several ranges, is ignored (the whole value,
200), as RFC 9110 allows. ``byte_start``/``byte_end`` are inclusive and strict: both or
neither, and both inside the value (400 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

from voxhub.errors import InvalidRequest

#: digits accepted in one number of a range (a 20-digit number passes 2**64)
_MAX_DIGITS = 20


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``[start, stop)``."""

    start: int
    stop: int

    @property
    def length(self) -> int:
        return self.stop - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{size}"


class Unsatisfiable(Exception):
    """A well-formed range that selects no byte of the value (HTTP 416)."""


def _number(text: str) -> int | None:
    text = text.strip()
    if not text or len(text) > _MAX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def parse_range_header(header: str | None, size: int) -> ByteRange | None:
    """The range a ``Range`` header selects of a ``size``-byte value; ``None`` to send
    the whole value; :class:`Unsatisfiable` for 416."""
    if not header or not header.startswith("bytes="):
        return None
    spec = header[len("bytes=") :].strip()
    if not spec or "," in spec or "-" not in spec:
        return None
    first, last = (part.strip() for part in spec.split("-", 1))
    if not first and not last:
        return None
    if size == 0:
        raise Unsatisfiable(f"Range {header!r} selects no byte of an empty value")
    if not first:
        suffix = _number(last)
        if suffix is None:
            return None
        if suffix == 0:
            raise Unsatisfiable(f"Range {header!r} selects no byte of a {size}-byte value")
        return ByteRange(max(0, size - suffix), size)
    start = _number(first)
    if start is None:
        return None
    end = _number(last) if last else None
    if last and (end is None or end < start):
        return None
    if start >= size:
        raise Unsatisfiable(f"Range start {start} is outside the value of {size} bytes")
    return ByteRange(start, size if end is None else min(end + 1, size))


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
        number = _number(value) if isinstance(value, str) else None
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
