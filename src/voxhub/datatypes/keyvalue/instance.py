"""``KeyValueInstance``: one keyvalue instance at one version node.

Values shorter than the chunk size are one stored key, written in one transaction. A
bigger value is written a chunk at a time by an :class:`~.upload.Upload` under a fresh
upload id, then its manifest is committed in one transaction: until then no reader can
reach a chunk, so a failed upload leaves nothing visible (its chunks are deleted, or
stay unreachable if the process dies). A value replaced or deleted at the node that
wrote it has that node's chunks deleted after the commit; chunks an ancestor wrote stay,
as its value does.

Reads resolve the key's record once and then read only the chunks a byte range needs.
A reader of a chunked value being replaced at an open node at the same moment may find
a chunk gone (:class:`~voxhub.errors.StorageError`); it never mixes two values, since
chunks of different uploads never share a key.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from voxhub.datatypes.keyvalue import keys as K
from voxhub.datatypes.keyvalue.config import KeyValueConfig
from voxhub.datatypes.keyvalue.mutlog import Author, log_write, node_records
from voxhub.datatypes.keyvalue.values import (
    Manifest,
    Stored,
    decode_stored,
    encode_inline,
    encode_manifest,
)
from voxhub.errors import InvalidRequest, NotFound, StorageError, VoxhubError
from voxhub.storage.base import prefix_end
from voxhub.versioning.protocols import VersionedTxn, VersionedView

T = TypeVar("T")
Bytes = bytes | bytearray | memoryview


def quietly(fn: Callable[[], T]) -> T:
    """``fn()`` outside the request's pending node-log line: chunks are not the change
    a request logs, the manifest committing them is (:mod:`voxhub.versioning.node_log`)."""
    return contextvars.Context().run(fn)


class KeyValueInstance:
    """Reads and writes of one keyvalue instance at one node."""

    def __init__(self, view: VersionedView, config: KeyValueConfig, name: str) -> None:
        self.view = view
        self.config = config
        self.name = name
        #: who the writes through this instance are recorded under (:mod:`.mutlog`)
        self.author = Author()

    def __repr__(self) -> str:
        return f"KeyValueInstance({self.name!r}, node={self.view.node_uuid[:8]})"

    @property
    def chunk_bytes(self) -> int:
        return self.config.chunk_bytes

    # -- reads ---------------------------------------------------------------------------
    def stat(self, key: str) -> Stored | None:
        """The record of ``key`` (inline bytes or manifest), ``None`` if absent."""
        raw = self.view.get(K.value_tkey(key))
        return None if raw is None else decode_stored(raw, key)

    def size(self, key: str) -> int | None:
        """The length of ``key``'s value, ``None`` if absent."""
        stored = self.stat(key)
        return None if stored is None else stored.size

    def get(self, key: str) -> bytes | None:
        """The whole value of ``key``, ``None`` if absent."""
        stored = self.stat(key)
        if stored is None:
            return None
        return b"".join(self.pieces(key, stored, 0, stored.size))

    def read_range(self, key: str, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of ``key``'s value (clipped to its end); NotFound if
        absent. Only the chunks holding them are read."""
        stored = self.stat(key)
        if stored is None:
            raise NotFound(f"key {key!r} not found in {self.name!r}")
        if start < 0 or stop < start:
            raise InvalidRequest(f"byte range [{start}, {stop}) of key {key!r} is not a range")
        return b"".join(self.pieces(key, stored, start, min(stop, stored.size)))

    def pieces(self, key: str, stored: Stored, start: int, stop: int) -> Iterator[bytes]:
        """Bytes ``[start, stop)`` of a record, a chunk at a time (``0 <= start <= stop
        <= size``)."""
        if stored.manifest is None:
            assert stored.inline is not None
            if stop > start:
                yield bytes(stored.inline[start:stop])
            return
        m = stored.manifest
        if stop <= start:
            return
        for index in range(start // m.chunk_bytes, (stop - 1) // m.chunk_bytes + 1):
            lo, hi = m.chunk_span(index)
            data = self.view.get(K.chunk_tkey(key, m.upload, index))
            if data is None or len(data) != hi - lo:
                raise StorageError(
                    f"chunk {index} of key {key!r} in {self.name!r} is missing or cut short "
                    "(the value was replaced while it was read)"
                )
            a, b = max(start, lo) - lo, min(stop, hi) - lo
            yield data if (a, b) == (0, len(data)) else data[a:b]

    def keys_between(self, lo: bytes, hi: bytes) -> list[str]:
        """Keys whose value tkeys lie in ``[lo, hi)`` (see :mod:`.keys`), ascending."""
        return [
            bytes(t[1:-1]).decode("utf-8")
            for t, _ in self.view.scan(lo, hi, keys_only=True)
            if K.is_value_tkey(t)
        ]

    def keys(self, first: str | None = None, last: str | None = None) -> list[str]:
        """Keys with ``first <= key <= last`` (DVID's inclusive ``keyrange``), ascending
        in the byte order of their UTF-8."""
        if first is not None and last is not None and K.key_bytes(first) > K.key_bytes(last):
            return []
        return self.keys_between(*K.value_range(first, last))

    def items(self, lo: bytes, hi: bytes) -> Iterator[tuple[str, bytes]]:
        """``(key, value)`` of the keys whose value tkeys lie in ``[lo, hi)``; values are
        read one at a time (a batch of big inline values would add up)."""
        for key in self.keys_between(lo, hi):
            value = self.get(key)
            if value is not None:  # deleted since listed
                yield key, value

    def mutations(self, userid: str | None = None) -> list[dict[str, Any]]:
        """The writes made at this node (not its ancestors'), oldest first, as DVID's
        ``GET mutations`` answers them (:mod:`.mutlog`); only ``userid``'s if given."""
        return node_records(self.view, self.view.node_uuid, userid)

    # -- writes --------------------------------------------------------------------------
    def put(self, key: str, value: Bytes) -> None:
        """Set ``key`` to ``value`` (chunked if it is at least the chunk size)."""
        view = memoryview(value).cast("B")
        if len(view) < self.chunk_bytes:
            self.replace(key, encode_inline(view), len(view))
            return
        n = self.chunk_bytes
        self.put_stream(key, (view[i : i + n] for i in range(0, len(view), n)))

    def put_stream(self, key: str, pieces: Iterable[Bytes]) -> int:
        """Set ``key`` to the concatenation of ``pieces``, stored a chunk at a time as
        they come (nothing is visible until the last); the value's size."""
        upload = self.upload(key)
        try:
            for piece in pieces:
                upload.append(piece)
                if upload.full:
                    upload.flush()
            upload.commit()
        except BaseException:
            upload.abort()
            raise
        return upload.size

    def list_keys(self, start: str | None = None, stop: str | None = None) -> list[str]:
        """Keys with ``start <= key < stop`` (Python's half-open convention)."""
        return self.keys_between(*K.value_range_open(start, stop))

    def iter_items(
        self, start: str | None = None, stop: str | None = None
    ) -> Iterator[tuple[str, bytes]]:
        """``(key, value)`` with ``start <= key < stop``, values read one at a time."""
        return self.items(*K.value_range_open(start, stop))

    def delete(self, key: str) -> bool:
        """Delete ``key`` at this node; whether it existed (DVID answers 200 either way)."""
        return self.replace(key, None, None)

    def upload(self, key: str) -> Upload:
        """A streaming writer of a new value of ``key`` (see :class:`Upload`)."""
        K.key_bytes(key)
        return Upload(self, key)

    def replace(self, key: str, record: bytes | None, size: int | None) -> bool:
        """Store ``record`` (or delete) under ``key`` in one transaction, with its
        mutation record (``size``: the value's length), then drop the chunks of the
        value it replaced if this node wrote them; whether a value was there."""
        tkey = K.value_tkey(key)

        def run(txn: VersionedTxn) -> bytes | None:
            old = txn.get(tkey)
            if record is None:
                txn.delete(tkey)
            else:
                txn.put(tkey, record)
            log_write(txn, self.view.node_uuid, key, size, self.author)
            return old

        old = self.view.transact(run)
        self.drop_chunks(key, old)
        return old is not None

    def put_many(self, items: Iterable[tuple[str, Bytes]]) -> int:
        """Store every ``(key, value)`` in one transaction (all or nothing; a later
        duplicate key wins); how many were stored."""
        planned = [self._plan(key, value) for key, value in items]

        def run(txn: VersionedTxn) -> list[tuple[str, bytes | None]]:
            replaced = []
            node = self.view.node_uuid
            for key, tkey, record, chunks in planned:
                for chunk_key, piece in chunks:
                    txn.put(chunk_key, bytes(piece))
                replaced.append((key, txn.get(tkey)))
                txn.put(tkey, record)
                log_write(txn, node, key, decode_stored(record, key).size, self.author)
            return replaced

        for key, old in self.view.transact(run):
            self.drop_chunks(key, old)
        return len(planned)

    def _plan(
        self, key: str, value: Bytes
    ) -> tuple[str, bytes, bytes, list[tuple[bytes, memoryview]]]:
        tkey = K.value_tkey(key)
        view = memoryview(value).cast("B")
        n = self.chunk_bytes
        if len(view) < n:
            return key, tkey, encode_inline(view), []
        upload = os.urandom(K.UPLOAD_BYTES)
        chunks = [
            (K.chunk_tkey(key, upload, i // n), view[i : i + n]) for i in range(0, len(view), n)
        ]
        return key, tkey, encode_manifest(Manifest(upload, len(view), n)), chunks

    def drop_chunks(self, key: str, old: bytes | None) -> None:
        """Delete the chunks of the replaced record ``old`` that this node wrote (best
        effort: chunks left behind are unreachable, never visible)."""
        if old is None:
            return
        with contextlib.suppress(VoxhubError):
            manifest = decode_stored(old, key).manifest
            if manifest is not None:
                self.drop_upload(key, manifest.upload)

    def drop_upload(self, key: str, upload: bytes) -> None:
        prefix = K.chunk_prefix(key, upload)
        end = prefix_end(prefix)
        assert end is not None  # a chunk prefix starts with 0x02
        mine = self.view.written_here(prefix, end)
        if mine:
            quietly(lambda: self.view.delete_many(mine))


class Upload:
    """A value of one key written a chunk at a time: :meth:`append` what arrives,
    :meth:`flush` when :attr:`full` (stores whole chunks), :meth:`commit` at the end (or
    :meth:`abort`). At most one chunk (plus what was appended last) is held in memory,
    and no store write is larger than the chunk size. A value that ends before filling
    one chunk is stored inline, in one transaction with nothing before it.
    """

    def __init__(self, instance: KeyValueInstance, key: str) -> None:
        self._instance = instance
        self.key = key
        self.upload_id = os.urandom(K.UPLOAD_BYTES)
        self._chunk = instance.chunk_bytes
        self._buffer = bytearray()
        self._stored_chunks = 0
        self.size = 0
        self.done = False

    @property
    def full(self) -> bool:
        """Whether a whole chunk is waiting to be stored."""
        return len(self._buffer) >= self._chunk

    def append(self, data: Bytes) -> None:
        if self.done:
            raise InvalidRequest(f"the upload of key {self.key!r} is finished")
        self._buffer += data
        self.size += len(data)

    def flush(self) -> None:
        """Store every whole chunk buffered."""
        n = self._chunk
        while len(self._buffer) >= n:
            with memoryview(self._buffer) as held:
                piece = bytes(held[:n])  # one copy (a bytearray slice would make two)
            del self._buffer[:n]
            self._store(piece)

    def _store(self, piece: bytes) -> None:
        tkey = K.chunk_tkey(self.key, self.upload_id, self._stored_chunks)
        view = self._instance.view
        quietly(lambda: view.put_many([(tkey, piece)]))
        self._stored_chunks += 1

    def commit(self) -> None:
        """Store the rest and make the value visible, in one transaction."""
        self.flush()
        if self._stored_chunks == 0:
            record = encode_inline(self._buffer)
        else:
            if self._buffer:
                self._store(bytes(self._buffer))
            record = encode_manifest(Manifest(self.upload_id, self.size, self._chunk))
        self._buffer = bytearray()
        self._instance.replace(self.key, record, self.size)
        self.done = True

    def abort(self) -> None:
        """Forget the upload and delete its chunks (best effort)."""
        if self.done:
            return
        self.done = True
        self._buffer = bytearray()
        if self._stored_chunks:
            with contextlib.suppress(VoxhubError):
                self._instance.drop_upload(self.key, self.upload_id)
