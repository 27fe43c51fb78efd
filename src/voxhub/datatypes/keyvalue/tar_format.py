"""Tar archives of key-value pairs, one file per key (DVID's ``tar=true`` answers and
voxhub's tar ingest), written a piece at a time and read without copying values.

An entry is a PAX/ustar header (a key longer than 100 bytes or not ASCII gets a PAX
``path`` record, as Go's ``archive/tar`` writes it), the value, zero padding to 512
bytes; the archive ends with two zero blocks. Reading is strict where ``tarfile`` is
lenient: a member that is not a regular file (directories aside), data cut short, or
bytes after the last member that are not the zero end blocks (``tarfile`` stops at a bad
header silently) refuse the whole archive.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

from voxhub.datatypes.keyvalue.sized_pieces import sized_pieces
from voxhub.errors import InvalidRequest

BLOCK = 512
END = b"\x00" * (2 * BLOCK)
_ENCODING = "utf-8"


def entry_header(key: str, size: int) -> bytes:
    """The header block(s) of a ``size``-byte file named ``key``."""
    info = tarfile.TarInfo(name=key)
    info.size = size
    info.mode = 0o755
    return info.tobuf(tarfile.PAX_FORMAT, _ENCODING, "surrogateescape")


def padding(size: int) -> bytes:
    """The zeros after a ``size``-byte file."""
    return b"\x00" * (-size % BLOCK)


def archive(entries: Iterator[tuple[str, int, Iterator[bytes]]]) -> Iterator[bytes]:
    """The pieces of a tar archive of ``(key, size, pieces of the value)``."""
    for key, size, pieces in entries:
        yield entry_header(key, size)
        yield from sized_pieces(key, size, pieces)
        yield padding(size)
    yield END


def read_archive(body: bytes, what: str = "tar body") -> list[tuple[str, memoryview]]:
    """``(name, value)`` of each regular file of a tar archive, in order; the values are
    views of ``body``. InvalidRequest naming the problem if it is not a sound archive."""
    if not body:
        raise InvalidRequest(f"{what} is empty, not a tar archive")
    view = memoryview(body)
    if len(body) % BLOCK == 0 and not any(view):
        return []  # only the end blocks: an archive of no file (tarfile calls it "empty")
    try:
        with tarfile.open(
            fileobj=io.BytesIO(body), mode="r:", encoding=_ENCODING, errors="surrogateescape"
        ) as tar:
            members = tar.getmembers()
    except (tarfile.TarError, ValueError, EOFError, OverflowError) as e:
        raise InvalidRequest(f"{what} is not a tar archive: {e}") from None
    out: list[tuple[str, memoryview]] = []
    end = 0
    for m in members:
        if m.isdir():
            end = m.offset_data
            continue
        if not m.isfile():
            raise InvalidRequest(f"{what}: member {m.name!r} is not a regular file")
        stop = m.offset_data + m.size
        if stop > len(body):
            raise InvalidRequest(
                f"{what}: member {m.name!r} is cut short ({len(body) - m.offset_data} of "
                f"{m.size} bytes)"
            )
        out.append((m.name, view[m.offset_data : stop]))
        end = stop + (-m.size % BLOCK)
    if any(view[end:]):
        raise InvalidRequest(
            f"{what} holds {len(body) - end} bytes after its last readable member that are "
            "not the archive's end (a corrupt header?)"
        )
    return out
