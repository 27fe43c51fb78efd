"""``KeyValue``: a keyvalue instance at one version node, as a mapping of str to bytes.

The same class serves an embedded store (:class:`~voxhub.datatypes.keyvalue.
KeyValueInstance`) and a server (:class:`~voxhub.client.remote.keyvalue.RemoteKeyValue`),
with the same exceptions: a missing key is :class:`~voxhub.errors.NotFound`, a
``KeyError``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, BinaryIO, Protocol

from voxhub.client.handle import InstanceHandle
from voxhub.errors import NotFound

if TYPE_CHECKING:
    pass

Bytes = bytes | bytearray | memoryview


class KeyValueAccess(Protocol):
    """What :class:`KeyValue` needs of an instance, embedded or remote."""

    @property
    def chunk_bytes(self) -> int: ...

    def size(self, key: str) -> int | None: ...

    def get(self, key: str) -> bytes | None: ...

    def read_range(self, key: str, start: int, stop: int) -> bytes: ...

    def put(self, key: str, value: Bytes) -> None: ...

    def put_stream(self, key: str, pieces: Iterable[Bytes]) -> int: ...

    def put_many(self, items: Iterable[tuple[str, Bytes]]) -> int: ...

    def delete(self, key: str) -> bool: ...

    def list_keys(self, start: str | None = None, stop: str | None = None) -> list[str]: ...

    def iter_items(
        self, start: str | None = None, stop: str | None = None
    ) -> Iterator[tuple[str, bytes]]: ...


class KeyValue(InstanceHandle[KeyValueAccess]):
    """Files under string keys, versioned with the node: ``kv["key"] = b"..."``.

    Keys are ordered by the bytes of their UTF-8 (as DVID orders them); ``keys`` and
    ``items`` take an optional half-open range ``[start, stop)``. Values of any size
    are ``bytes``; :meth:`open` reads a big one a piece at a time and :meth:`put_file`
    writes one from a file without holding it in memory.

    >>> import voxhub
    >>> kv = voxhub.open("memory://").create_repo("files").master.create_keyvalue("notes")
    >>> kv["a.txt"] = b"hello"
    >>> kv.update({"b.txt": b"world", "c.json": b"{}"})
    >>> kv["a.txt"], "b.txt" in kv, len(kv), kv.keys("b")
    (b'hello', True, 3, ['b.txt', 'c.json'])
    >>> del kv["a.txt"]
    >>> kv.open("b.txt").read(3)
    b'wor'
    """

    def _missing(self, key: str) -> NotFound:
        return NotFound(f"key {key!r} not found in {self.name!r} at node {self._node.uuid[:8]}")

    # -- mapping -------------------------------------------------------------------------
    def __getitem__(self, key: str) -> bytes:
        value = self._access.get(key)
        if value is None:
            raise self._missing(key)
        return value

    def get(self, key: str, default: bytes | None = None) -> bytes | None:
        value = self._access.get(key)
        return default if value is None else value

    def __setitem__(self, key: str, value: Bytes) -> None:
        self._writable(f"setting key {key!r}")
        self._access.put(key, value)

    def __delitem__(self, key: str) -> None:
        self._writable(f"deleting key {key!r}")
        if not self._access.delete(key):
            raise self._missing(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._access.size(key) is not None

    def __len__(self) -> int:
        return len(self._access.list_keys())

    def __iter__(self) -> Iterator[str]:
        return iter(self._access.list_keys())

    def keys(self, start: str | None = None, stop: str | None = None) -> list[str]:
        """Keys with ``start <= key < stop`` (either bound optional), in order."""
        return self._access.list_keys(start, stop)

    def items(
        self, start: str | None = None, stop: str | None = None
    ) -> Iterator[tuple[str, bytes]]:
        """``(key, value)`` pairs with ``start <= key < stop``, in key order."""
        return self._access.iter_items(start, stop)

    def values(self) -> Iterator[bytes]:
        return (value for _, value in self.items())

    def update(self, pairs: Mapping[str, Bytes] | Iterable[tuple[str, Bytes]] = ()) -> None:
        """Set many keys at once, all or nothing (one transaction; over HTTP one POST
        keyvalues)."""
        self._writable("update")
        items = list(pairs.items() if isinstance(pairs, Mapping) else pairs)
        self._access.put_many(items)

    # -- big values ----------------------------------------------------------------------
    def size(self, key: str) -> int:
        """The length of ``key``'s value in bytes."""
        found = self._access.size(key)
        if found is None:
            raise self._missing(key)
        return found

    def read(self, key: str, start: int = 0, stop: int | None = None) -> bytes:
        """Bytes ``[start, stop)`` of ``key``'s value (only the chunks holding them are
        read)."""
        size = self.size(key)
        end = size if stop is None else min(stop, size)
        return self._access.read_range(key, start, max(start, end)) if start < end else b""

    def open(self, key: str) -> BinaryIO:
        """A read-only, seekable file over ``key``'s value, reading it a piece at a time.

        The size is fixed when opened. Reads at a committed node are stable; at an open
        node, a value replaced while it is read may be read partly old, partly new."""
        raw = _ValueReader(self._access, key, self.size(key))
        buffer = max(io.DEFAULT_BUFFER_SIZE, min(self._access.chunk_bytes, 1 << 20))
        return io.BufferedReader(raw, buffer_size=buffer)

    def put_file(self, key: str, file: BinaryIO) -> int:
        """Store what ``file`` holds (read to its end, a chunk at a time) as ``key``'s
        value; nothing is visible until all of it is stored. Returns its size."""
        self._writable(f"setting key {key!r}")
        step = self._access.chunk_bytes

        def pieces() -> Iterator[bytes]:
            while True:
                piece = file.read(step)
                if not piece:
                    return
                yield piece

        return self._access.put_stream(key, pieces())


class _ValueReader(io.RawIOBase):
    def __init__(self, access: KeyValueAccess, key: str, size: int) -> None:
        self._access = access
        self._key = key
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        data = self._access.read_range(self._key, self._pos, self._pos + n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)
