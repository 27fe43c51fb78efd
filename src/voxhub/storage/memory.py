"""In-memory reference backend: a sorted list of keys beside a dict.

It is the oracle the conformance suite and the versioning model tests compare against,
so it favours obviousness over speed. One lock serialises writers and transactions.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from voxhub.storage.base import KVStore, Txn

T = TypeVar("T")


class _MemoryTxn:
    """Buffers writes over a snapshot-free view; applied by ``MemoryStore.transact``."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self._store._data.get(key)

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return [self.get(k) for k in keys]

    def put(self, key: bytes, value: bytes) -> None:
        self.writes[key] = bytes(value)

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def scan(
        self, start: bytes, end: bytes | None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        merged: dict[bytes, bytes | None] = dict(self._store._scan_locked(start, end))
        for k, v in self.writes.items():
            if k >= start and (end is None or k < end):
                merged[k] = v
        for k in sorted(merged):
            v = merged[k]
            if v is not None:
                yield k, (None if keys_only else v)


class MemoryStore(KVStore):
    """Ordered in-memory store (not shared between processes, not persistent)."""

    supports_transactions = True

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._keys: list[bytes] = []
        self._lock = threading.RLock()
        self._writes = 0  # the change marker: writes so far

    def spec(self) -> str:
        return "memory://"

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def _scan_locked(self, start: bytes, end: bytes | None) -> list[tuple[bytes, bytes]]:
        with self._lock:
            i = bisect.bisect_left(self._keys, start)
            j = len(self._keys) if end is None else bisect.bisect_left(self._keys, end)
            return [(k, self._data[k]) for k in self._keys[i:j]]

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        # Materialise under the lock so concurrent writers cannot break iteration.
        for k, v in self._scan_locked(start, end):
            yield k, (None if keys_only else v)

    def change_marker(self) -> int | None:
        return self._writes

    def _put_locked(self, key: bytes, value: bytes) -> None:
        if key not in self._data:
            bisect.insort(self._keys, key)
        self._data[key] = bytes(value)
        self._writes += 1  # after the write: a marker read before it differs from now on

    def _delete_locked(self, key: bytes) -> None:
        if key in self._data:
            del self._data[key]
            del self._keys[bisect.bisect_left(self._keys, key)]
        self._writes += 1

    def put(self, key: bytes, value: bytes) -> None:
        with self._lock:
            self._put_locked(key, value)

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        pairs = [(bytes(k), bytes(v)) for k, v in items]  # materialise before locking
        with self._lock:
            for k, v in pairs:
                self._put_locked(k, v)

    def delete(self, key: bytes) -> None:
        with self._lock:
            self._delete_locked(key)

    def delete_many(self, keys: Iterable[bytes]) -> None:
        ks = list(keys)
        with self._lock:
            for k in ks:
                self._delete_locked(k)

    def compare_and_swap(self, key: bytes, expected: bytes | None, new: bytes | None) -> bool:
        with self._lock:
            if self._data.get(key) != expected:
                return False
            if new is None:
                self._delete_locked(key)
            else:
                self._put_locked(key, new)
            return True

    def transact(self, fn: Callable[[Txn], T]) -> T:
        with self._lock:
            txn = _MemoryTxn(self)
            result = fn(txn)  # an exception here discards txn.writes: nothing applied
            for k, v in txn.writes.items():
                if v is None:
                    self._delete_locked(k)
                else:
                    self._put_locked(k, v)
            return result
