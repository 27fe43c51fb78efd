"""LMDB backend: the embedded default (ordered, ACID, crash-safe, many processes).

* **Map size grows by itself**, in this and in other processes, and every store of one
  directory in a process shares one environment: see :mod:`voxhub.storage.lmdb_env`.
* **Threads.** py-lmdb opens environments with ``MDB_NOTLS``, so any thread may start read
  transactions; each call opens its own short read transaction, and ``get_many`` /
  ``scan_many`` are served from one. Writes of one process are serialised by a lock,
  writes of several processes by LMDB's lock file.
* **Scans** read in batches of :data:`SCAN_BATCH` keys, each batch in its own read
  transaction, so no transaction stays open while the caller consumes the generator (a
  long reader would block map growth and pin old pages). A scan is therefore not one
  snapshot; ``scan_many`` is.
* **Durability.** ``sync=True, metasync=True``: a write has reached the disk when the call
  returns. :meth:`LmdbStore.bulk_writes` (bulk imports) keeps that and only drops the
  written pages from the page cache after each commit.
* **Fork safety.** Do not use a store in a child created by ``fork`` after it was opened
  (doing so raises :class:`~voxhub.errors.StorageError`). Open it after forking, or
  pickle it: unpickling reopens it by path.
* **Keys** are 1 to 511 bytes (LMDB's limit); others raise
  :class:`~voxhub.errors.InvalidRequest`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import lmdb

from voxhub.errors import ReadOnlyError, StorageError
from voxhub.storage.base import KVStore, Txn
from voxhub.storage.lmdb_env import LmdbEnv, open_env

if TYPE_CHECKING:
    from voxhub.storage.lmdb_env import Transaction, ViewTransaction

T = TypeVar("T")
V = TypeVar("V", bytes, memoryview)
Pair = tuple[bytes, bytes | None]

#: keys read per read transaction by :meth:`LmdbStore.scan`.
SCAN_BATCH = 512


def _scan_cursor(
    cur: lmdb.Cursor[bytes], start: bytes, end: bytes | None, keys_only: bool, limit: int | None
) -> list[Pair]:
    """Read ``[start, end)`` from a cursor, at most ``limit`` pairs."""
    out: list[Pair] = []
    if not cur.set_range(start):
        return out
    while True:
        key: bytes = cur.key()
        if end is not None and key >= end:
            break
        out.append((key, None if keys_only else cur.value()))
        if (limit is not None and len(out) >= limit) or not cur.next():
            break
    return out


def _keys_up(cur: lmdb.Cursor[Any], start: bytes, end: bytes) -> Iterator[bytes]:
    """Keys of ``[start, end)`` in ascending order, read lazily from ``cur`` (as ``bytes``
    also from a transaction that hands out views)."""
    if not cur.set_range(start):
        return
    while True:
        key = bytes(cur.key())
        if key >= end:
            return
        yield key
        if not cur.next():
            return


def _picked(
    txn: lmdb.Transaction[V],
    ranges: Sequence[tuple[bytes, bytes]],
    choose: Callable[[Iterator[bytes]], bytes | None],
) -> list[V | None]:
    """For each range, the value of the key ``choose`` picks (one lazy cursor walk per
    range, keys only, then one get)."""
    cur = txn.cursor()
    out: list[V | None] = []
    for start, end in ranges:
        picked = None
        keys = _keys_up(cur, start, end)
        first = next(keys, None)
        if first is not None:
            picked = choose(itertools.chain((first,), keys))
        out.append(None if picked is None else txn.get(picked))
    return out


class _LmdbTxn:
    """The :class:`~voxhub.storage.base.Txn` view of one LMDB write transaction."""

    def __init__(self, txn: Transaction) -> None:
        self._txn: Transaction | None = txn

    def _live(self) -> Transaction:
        if self._txn is None:
            raise StorageError("transaction used after transact() returned")
        return self._txn

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._live().get(key)
        return value

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        txn = self._live()
        return [txn.get(k) for k in keys]

    def put(self, key: bytes, value: bytes) -> None:
        self._live().put(key, value)

    def delete(self, key: bytes) -> None:
        self._live().delete(key)

    def scan(self, start: bytes, end: bytes | None, *, keys_only: bool = False) -> Iterator[Pair]:
        # Materialised so that puts made while the caller iterates cannot move the cursor.
        return iter(_scan_cursor(self._live().cursor(), start, end, keys_only, None))


class LmdbStore(KVStore):
    """An ordered key-value store in an LMDB directory (created if missing)."""

    supports_transactions = True
    supports_multiprocess = True
    low_latency_reads = True
    persistent = True

    def __init__(
        self, path: str | os.PathLike[str], *, map_size: int = 1 << 30, readonly: bool = False
    ) -> None:
        self._path = str(Path(path).absolute())
        self._initial_map_size = map_size
        self._readonly = readonly
        self._shared: LmdbEnv | None = open_env(self._path, map_size, readonly)

    def _env(self) -> LmdbEnv:
        if self._shared is None:
            raise StorageError(f"LMDB store {self._path} is closed")
        return self._shared

    def _read(self, fn: Callable[[Transaction], T]) -> T:
        return self._env().read(fn)

    def _write(self, fn: Callable[[Transaction], T]) -> T:
        if self._readonly:  # the shared environment may be writable
            raise ReadOnlyError(f"LMDB store {self._path} was opened read-only")
        return self._env().write(fn)

    @property
    def map_size(self) -> int:
        """The current size of the memory map in bytes (it grows as data is written)."""
        return self._env().map_size()

    # -- reads -----------------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        return self._read(lambda txn: txn.get(key))

    def change_marker(self) -> int | None:
        return self._env().last_write()  # every process's commits move it

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        def run(txn: Transaction) -> list[bytes | None]:
            cur = txn.cursor()  # one cursor for all keys: a little faster than txn.get
            return [cur.value() if cur.set_key(k) else None for k in keys]

        return self._read(run)

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[Pair]:
        def batch_from(first: bytes) -> Callable[[Transaction], list[Pair]]:
            return lambda txn: _scan_cursor(txn.cursor(), first, end, keys_only, SCAN_BATCH)

        while True:
            batch = self._read(batch_from(start))
            yield from batch
            if len(batch) < SCAN_BATCH:
                return
            start = batch[-1][0] + b"\x00"  # the smallest key after the last one read

    def scan_many(
        self, ranges: Sequence[tuple[bytes, bytes]], *, keys_only: bool = False
    ) -> list[list[Pair]]:
        def run(txn: Transaction) -> list[list[Pair]]:
            cur = txn.cursor()
            return [_scan_cursor(cur, s, e, keys_only, None) for s, e in ranges]

        return self._read(run)

    def pick_values(
        self,
        ranges: Sequence[tuple[bytes, bytes]],
        choose: Callable[[Iterator[bytes]], bytes | None],
    ) -> list[bytes | None]:
        return self._read(lambda txn: _picked(txn, ranges, choose))

    def with_picked_values(
        self,
        ranges: Sequence[tuple[bytes, bytes]],
        choose: Callable[[Iterator[bytes]], bytes | None],
        use: Callable[[Sequence[bytes | memoryview | None]], T],
    ) -> T:
        # Views into the map, valid while the read transaction is open: ``use`` runs in it.
        def run(txn: ViewTransaction) -> T:
            return use(_picked(txn, ranges, choose))

        return self._env().read_views(run)

    def same_values(self, pairs: Sequence[tuple[bytes, bytes]]) -> list[bool]:
        def run(txn: ViewTransaction) -> list[bool]:
            out = []
            for a, b in pairs:  # zero-copy views into the map, compared in place
                va, vb = txn.get(a), txn.get(b)
                out.append((va is None and vb is None) or (va is not None and va == vb))
            return out

        return self._env().read_views(run)

    # -- writes ----------------------------------------------------------------------
    def put(self, key: bytes, value: bytes) -> None:
        self._write(lambda txn: txn.put(key, value))

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        pairs = list(items)  # a retry after growing the map needs them again
        self._write(lambda txn: txn.cursor().putmulti(pairs))

    def delete(self, key: bytes) -> None:
        self._write(lambda txn: txn.delete(key))

    def delete_many(self, keys: Iterable[bytes]) -> None:
        ks = list(keys)

        def run(txn: Transaction) -> None:
            for k in ks:
                txn.delete(k)

        self._write(run)

    def delete_range(self, start: bytes, end: bytes | None = None) -> int:
        def run(txn: Transaction) -> int:
            cur = txn.cursor()
            removed = 0
            if not cur.set_range(start):
                return 0
            while True:
                key = cur.key()  # b"" once the cursor ran off the end (keys are never empty)
                if not key or (end is not None and key >= end):
                    return removed
                cur.delete()  # moves to the next key
                removed += 1

        return self._write(run)

    def compare_and_swap(self, key: bytes, expected: bytes | None, new: bytes | None) -> bool:
        def run(txn: Transaction) -> bool:
            if txn.get(key) != expected:
                return False
            if new is None:
                txn.delete(key)
            else:
                txn.put(key, new)
            return True

        return self._write(run)

    def transact(self, fn: Callable[[Txn], T]) -> T:
        """Run ``fn`` in one LMDB write transaction; it may run again if the map grows."""

        def run(txn: Transaction) -> T:
            view = _LmdbTxn(txn)
            try:
                return fn(view)
            finally:
                view._txn = None

        return self._write(run)

    def bulk_writes(self) -> AbstractContextManager[None]:
        """Commits made while entered drop the data file's pages they wrote from the page
        cache (:meth:`LmdbEnv.bulk_writes <voxhub.storage.lmdb_env.LmdbEnv.bulk_writes>`);
        durability is unchanged."""
        if self._readonly:
            return nullcontext()
        return self._env().bulk_writes()

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        if self._shared is not None:
            shared, self._shared = self._shared, None
            shared.release()

    def spec(self) -> str:
        return "lmdb://" + self._path

    @property
    def path(self) -> str:
        """The absolute path of the LMDB directory."""
        return self._path

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (self._path, self._initial_map_size, self._readonly))

    def __repr__(self) -> str:
        return f"LmdbStore({self._path!r}{', readonly=True' if self._readonly else ''})"


def _reopen(path: str, map_size: int, readonly: bool) -> LmdbStore:
    """Unpickling helper: open the same directory again in this process."""
    return LmdbStore(path, map_size=map_size, readonly=readonly)
