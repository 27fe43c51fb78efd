"""HTTP ``Range`` headers of one answer of known size (RFC 9110, with DVID's rules).

One range ``bytes=a-b``, ``bytes=a-`` or the suffix ``bytes=-n``; an end past the value is
clamped; a start at or past the end, a suffix of 0, or any range of an empty value is
unsatisfiable (416 with ``Content-Range: bytes */N``); anything else malformed, or several
ranges, is ignored (the whole value, 200), as RFC 9110 allows. Readers of sharded formats
(neuroglancer precomputed, zarr ``sharding_indexed``) depend on single and suffix ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def parse_number(text: str) -> int | None:
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
        suffix = parse_number(last)
        if suffix is None:
            return None
        if suffix == 0:
            raise Unsatisfiable(f"Range {header!r} selects no byte of a {size}-byte value")
        return ByteRange(max(0, size - suffix), size)
    start = parse_number(first)
    if start is None:
        return None
    end = parse_number(last) if last else None
    if last and (end is None or end < start):
        return None
    if start >= size:
        raise Unsatisfiable(f"Range start {start} is outside the value of {size} bytes")
    return ByteRange(start, size if end is None else min(end + 1, size))
