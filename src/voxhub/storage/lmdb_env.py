"""One open LMDB environment per directory per process, with transparent map growth.

LMDB forbids opening the same environment twice in one process (closing either handle
would drop the other's POSIX locks; py-lmdb refuses outright), yet the layers above may
open the same directory several times (``open_store`` twice, unpickling a store in the
process that pickled it). :func:`open_env` therefore hands out one shared, reference
counted :class:`LmdbEnv` per absolute path.

Map growth: a write that hits ``MapFullError`` is aborted, the map is doubled with
``set_mapsize`` while no transaction of this process is open, and the write is retried.
A process that finds the file grown beyond its own map gets ``MapResizedError``; it adopts
the new size (``set_mapsize(0)``) and retries. "No transaction open" is enforced by a
:class:`~voxhub.storage.shared_lock.SharedExclusiveLock`: transactions hold it shared, a
resize holds it exclusively. Writers of this process are serialised by a plain lock taken
*before* the shared one (so a resizing writer never waits for a reader that waits for
it); LMDB's lock file serialises writers across processes.

Bulk writes: while :meth:`LmdbEnv.bulk_writes` is entered, every few write transactions
this process commits end with ``posix_fadvise(DONTNEED)`` on the data file, so the kernel
drops the file's cached pages that are already on disk and nobody has mapped (see
:meth:`LmdbEnv.bulk_writes` for why, and why durability is untouched).

Fork: an environment must not be used in a child created by ``fork`` after it was opened.
Such use raises :class:`~voxhub.errors.StorageError`; open stores after forking.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import lmdb

from voxhub.errors import InvalidRequest, ReadOnlyError, StorageError
from voxhub.storage.shared_lock import SharedExclusiveLock

T = TypeVar("T")
if TYPE_CHECKING:  # py-lmdb's classes are generic only in its stubs
    Transaction: TypeAlias = lmdb.Transaction[bytes]
    ViewTransaction: TypeAlias = lmdb.Transaction[memoryview]

#: reader slots in the lock file (fixed by the first process that creates it).
MAX_READERS = 1024
#: during bulk writes, how much the data file grows between two drops of its cached pages
BULK_DROP_BYTES = 32 << 20

_fork_generation = 0
_registry: weakref.WeakValueDictionary[str, LmdbEnv] = weakref.WeakValueDictionary()
_registry_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _fork_generation, _registry_lock
    _fork_generation += 1
    _registry.clear()  # the parent's environments are unusable here
    _registry_lock = threading.Lock()  # may have been held by another thread at fork time


os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def translated_errors(path: str) -> Iterator[None]:
    """Turn lmdb's exceptions into voxhub's hierarchy (growth signals pass through)."""
    try:
        yield
    except (lmdb.MapFullError, lmdb.MapResizedError):
        raise
    except lmdb.BadValsizeError as e:
        raise InvalidRequest(f"LMDB store {path}: key must be 1-511 bytes ({e})") from e
    except lmdb.ReadonlyError as e:
        raise ReadOnlyError(f"LMDB store {path} is read-only") from e
    except lmdb.Error as e:
        raise StorageError(f"LMDB store {path}: {e}") from e


class LmdbEnv:
    """A shared LMDB environment: read and write transactions that survive map growth."""

    def __init__(self, path: str, map_size: int, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self.users = 1
        self._generation = _fork_generation
        self._gate = SharedExclusiveLock()
        self._write_lock = threading.Lock()
        self._writing = threading.local()
        self._bulk_lock = threading.Lock()
        self._bulk_users = 0
        self._bulk_fd: int | None = None  # the data file, open while bulk writes run
        self._bulk_mark = 0  # the file's last page when its cache was last dropped
        try:
            self._env: lmdb.Environment | None = lmdb.open(
                path,
                map_size=map_size,
                readonly=readonly,
                create=not readonly,
                sync=True,  # durable when the write returns
                metasync=True,
                lock=True,
                max_readers=MAX_READERS,
                max_spare_txns=4,
            )
        except lmdb.Error as e:
            raise StorageError(f"cannot open LMDB store {path}: {e}") from e

    def _live(self) -> lmdb.Environment:
        if self._generation != _fork_generation:
            raise StorageError(
                f"LMDB store {self.path} was opened before fork(); open it in the child "
                "(or pass it pickled)"
            )
        if self._env is None:
            raise StorageError(f"LMDB store {self.path} is closed")
        return self._env

    def map_size(self) -> int:
        """The current map size of this process's mapping, in bytes."""
        with self._gate.shared():
            size: int = self._live().info()["map_size"]
            return size

    def _resize(self, grow_from: int | None) -> None:
        """Double the map if it is still ``grow_from``; adopt the file's size if ``None``."""
        with self._gate.exclusive():
            env = self._live()
            with translated_errors(self.path):
                if grow_from is None:
                    env.set_mapsize(0)
                elif env.info()["map_size"] == grow_from:  # no other thread grew it yet
                    env.set_mapsize(grow_from * 2)

    def last_write(self) -> int:
        """The id of the last committed write transaction, by any process (LMDB's meta
        page, read from the map: no transaction)."""
        with self._gate.shared():
            txnid: int = self._live().info()["last_txnid"]
            return txnid

    def read(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` in one read transaction."""
        while True:
            with self._gate.shared():
                env = self._live()
                try:
                    with translated_errors(self.path), env.begin() as txn:
                        return fn(txn)
                except lmdb.MapResizedError:
                    pass
            self._resize(None)

    def read_views(self, fn: Callable[[ViewTransaction], T]) -> T:
        """:meth:`read` whose values are zero-copy views, valid only inside ``fn``."""
        while True:
            with self._gate.shared():
                env = self._live()
                try:
                    with translated_errors(self.path), env.begin(buffers=True) as txn:
                        return fn(txn)
                except lmdb.MapResizedError:
                    pass
            self._resize(None)

    def write(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` in one write transaction (again after growing the map if needed)."""
        if self.readonly:
            raise ReadOnlyError(f"LMDB store {self.path} was opened read-only")
        if getattr(self._writing, "active", False):
            raise StorageError(
                "store written from inside its own transact(); write through the txn instead"
            )
        with self._write_lock:
            self._writing.active = True
            try:
                while True:
                    with self._gate.shared():
                        env = self._live()
                        size = env.info()["map_size"]
                        try:
                            with translated_errors(self.path), env.begin(write=True) as txn:
                                result = fn(txn)
                            self._drop_written_pages(env)
                            return result
                        except lmdb.MapFullError:
                            grow_from: int | None = size
                        except lmdb.MapResizedError:
                            grow_from = None
                    self._resize(grow_from)
            finally:
                self._writing.active = False

    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """While entered (by any thread, nested freely), a write transaction of this process
        that leaves the data file :data:`BULK_DROP_BYTES` longer than at the last drop ends
        by asking the kernel to drop the file's cached pages; so does the last exit.

        Why: a bulk import writes gigabytes it will not read back soon. Kept cached, every
        page written takes a fresh page of memory, whose first touch is the costliest part
        of the write on small VMs (~3 of ~9 CPU-s per GB imported: the kernel's copy into
        new page-cache folios); dropped, the next commit reuses the pages just freed, and
        the import leaves the cache holding what it held before.

        Durability is untouched: commits still ``fdatasync`` the data pages, then write and
        sync the meta page, before they return (``sync=True, metasync=True``), and
        ``POSIX_FADV_DONTNEED`` only evicts clean pages (it starts writeback of dirty ones,
        which the kernel may do at any time anyway, and never discards them) that no
        process has mapped, so LMDB's own reads through its map keep their pages. The
        hint changes what is cached, never what is stored: a reader simply reads the
        dropped pages from disk again.

        Not used instead: ``sync=False`` or ``map_async`` for the import (a power cut
        could then corrupt the whole store, old data included: ext4 writes cached pages
        back in no particular order, so a meta page may land before the pages it points
        to); ``writemap`` (fixed when the environment opens, must not be mixed with
        processes opened without it, and measured no cheaper than dropping: its page
        faults zero the same fresh folios the copy fills); bigger transactions (two
        ``fdatasync`` per 16 MB task cost no measurable CPU).
        """
        if self.readonly or not hasattr(os, "posix_fadvise"):  # nothing to drop, or no way to
            yield
            return
        with self._bulk_lock:
            if self._bulk_users == 0:
                self._bulk_fd = os.open(os.path.join(self.path, "data.mdb"), os.O_RDONLY)
            self._bulk_users += 1
        try:
            yield
        finally:
            with self._bulk_lock:
                self._bulk_users -= 1
                if self._bulk_users == 0 and self._bulk_fd is not None:
                    self._drop(self._bulk_fd)  # the last commits' pages too
                    os.close(self._bulk_fd)
                    self._bulk_fd = None

    def _drop_written_pages(self, env: lmdb.Environment) -> None:
        """Drop the cache once the file grew by :data:`BULK_DROP_BYTES` since the last drop
        (each drop costs ~2 ms: once per commit it would be ~3% of an import's CPU)."""
        if self._bulk_fd is None:  # no bulk writes (read unlocked: a hint may be skipped)
            return
        with self._bulk_lock:
            if self._bulk_fd is None:
                return
            end: int = env.info()["last_pgno"]
            if (end - self._bulk_mark) * env.stat()["psize"] >= BULK_DROP_BYTES:
                self._bulk_mark = end
                self._drop(self._bulk_fd)

    @staticmethod
    def _drop(fd: int) -> None:
        with suppress(OSError):  # a hint: whatever the kernel answers, the commit happened
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)

    def release(self) -> None:
        """Drop one user; the last one closes the environment."""
        # The environment is closed *before* the registry lock is let go: a concurrent
        # open_env of the same path must not find the registry empty while this handle is
        # still open, or its lmdb.open would fail ("already open in this process").
        with _registry_lock:
            self.users -= 1
            if self.users > 0:
                return
            if _registry.get(self.path) is self:
                del _registry[self.path]
            with self._gate.exclusive():
                if self._env is not None and self._generation == _fork_generation:
                    self._env.close()
                self._env = None


def open_env(path: str, map_size: int, readonly: bool) -> LmdbEnv:
    """The environment of ``path`` (absolute) in this process, opened if needed."""
    with _registry_lock:
        env = _registry.get(path)
        if env is None:
            env = LmdbEnv(path, map_size, readonly)
            _registry[path] = env
            return env
        if env.readonly and not readonly:
            raise StorageError(
                f"LMDB store {path} is already open read-only in this process; "
                "close it before opening it for writing"
            )
        env.users += 1
        return env
