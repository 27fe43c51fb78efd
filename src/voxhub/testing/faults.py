"""A fault-injecting wrapper for any :class:`~voxhub.storage.base.KVStore`.

:class:`FaultyStore` counts the store's write operations — ``put``, ``put_many``,
``delete``, ``delete_many``, ``delete_range``, ``compare_and_swap`` and each
``transact`` commit — and, when armed with :meth:`FaultyStore.fail_at` or
:meth:`FaultyStore.kill_at`, makes the Nth one go wrong:

* **fail** raises :class:`InjectedFault` (a :class:`~voxhub.errors.StorageError`, what a
  dropped connection looks like) once, then the store works again;
* **kill** raises :class:`Killed`, a ``BaseException``: it passes every ``except
  Exception`` cleanup like ``kill -9`` would, and every later request of the wrapped
  store raises it too (a dead process sends nothing more). Open a new store on the same
  data to see what the crash left.

A transaction's commit is counted *inside* the backend's transaction, after ``fn`` ran,
so on LMDB a fault there aborts it the way a crash during commit would. Stores that
expose a ``fault_hook`` (:class:`~voxhub.storage.s3_store.S3Store`) also count every
object write of their commit protocol (locks, intent, each key, releases), so
``kill_at(n)`` for n = 1, 2, ... stops a commit at each of its steps in turn.

    store = FaultyStore(LmdbStore(path))
    store.kill_at(3)
    ...  # the third write raises Killed; reopen the path and check
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from voxhub.errors import StorageError
from voxhub.storage.base import KVStore, Txn

T = TypeVar("T")


class InjectedFault(StorageError):
    """The failure a :class:`FaultyStore` was told to raise."""


class Killed(BaseException):
    """A simulated crash: derives from ``BaseException`` so ``except Exception`` skips it."""


class FaultyStore(KVStore):
    """Wraps ``inner``; the Nth write operation fails or kills (see the module docstring)."""

    def __init__(self, inner: KVStore) -> None:
        self.inner = inner
        self.supports_transactions = inner.supports_transactions  # type: ignore[misc]
        self.supports_multiprocess = inner.supports_multiprocess  # type: ignore[misc]
        self.persistent = inner.persistent  # type: ignore[misc]
        self.operations = 0  #: write operations counted so far
        self.dead = False
        self.fired = 0  #: faults injected so far
        self._at: int | None = None
        self._kill = False
        self._lock = threading.Lock()
        if hasattr(inner, "fault_hook"):
            inner.fault_hook = self._tick

    def fail_at(self, n: int) -> None:
        """Make the ``n``-th write operation from now raise :class:`InjectedFault`."""
        self._arm(n, kill=False)

    def kill_at(self, n: int) -> None:
        """Make the ``n``-th write operation from now raise :class:`Killed`, for good."""
        self._arm(n, kill=True)

    def disarm(self) -> None:
        """No fault pending (a kill that already happened stays)."""
        with self._lock:
            self._at = None

    def _arm(self, n: int, *, kill: bool) -> None:
        if n < 1:
            raise ValueError("faults are counted from 1")
        with self._lock:
            self._at, self._kill = self.operations + n, kill

    def _tick(self, what: str) -> None:
        with self._lock:
            if self.dead:
                raise Killed(f"store killed earlier (at {what})")
            self.operations += 1
            if self._at is None or self.operations != self._at:
                return
            self._at = None
            self.fired += 1
            if self._kill:
                self.dead = True
                raise Killed(f"killed at write operation {self.operations} ({what})")
        raise InjectedFault(f"injected failure at write operation {self.operations} ({what})")

    def _alive(self) -> None:
        if self.dead:
            raise Killed("store killed earlier")

    # -- reads pass through (a dead store reads nothing more) ----------------------------
    def get(self, key: bytes) -> bytes | None:
        self._alive()
        return self.inner.get(key)

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        self._alive()
        return self.inner.get_many(keys)

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        self._alive()
        return self.inner.scan(start, end, keys_only=keys_only)

    def scan_many(
        self, ranges: Sequence[tuple[bytes, bytes]], *, keys_only: bool = False
    ) -> list[list[tuple[bytes, bytes | None]]]:
        self._alive()
        return self.inner.scan_many(ranges, keys_only=keys_only)

    # -- counted writes --------------------------------------------------------------------
    def put(self, key: bytes, value: bytes) -> None:
        self._tick("put")
        self.inner.put(key, value)

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        self._tick("put_many")
        self.inner.put_many(items)

    def delete(self, key: bytes) -> None:
        self._tick("delete")
        self.inner.delete(key)

    def delete_many(self, keys: Iterable[bytes]) -> None:
        self._tick("delete_many")
        self.inner.delete_many(keys)

    def delete_range(self, start: bytes, end: bytes | None = None) -> int:
        self._tick("delete_range")
        return self.inner.delete_range(start, end)

    def compare_and_swap(self, key: bytes, expected: bytes | None, new: bytes | None) -> bool:
        self._tick("compare_and_swap")
        return self.inner.compare_and_swap(key, expected, new)

    def transact(self, fn: Callable[[Txn], T]) -> T:
        self._alive()

        def counted(txn: Txn) -> T:
            result = fn(txn)
            self._tick("commit")  # inside the backend's transaction: a crash at commit
            return result

        return self.inner.transact(counted)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.inner.close()

    def spec(self) -> str:
        return self.inner.spec()

    def __repr__(self) -> str:
        return f"FaultyStore({self.inner!r})"
