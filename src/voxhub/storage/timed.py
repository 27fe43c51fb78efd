"""A :class:`~voxhub.storage.base.KVStore` wrapper that reports how long each operation took.

:class:`TimedStore` passes every call to the store it wraps and then calls
``timer(operation, seconds)``, whatever the call raised. Every method of
:class:`~voxhub.storage.base.KVStore` is passed on (a backend's own fast path stays in
use; ``tests/storage/test_timed_store.py`` fails for a method added to the interface and
not here). The server builds its service on
one (``Service.timed``) to fill the ``voxhub_store_operation_duration_seconds`` histogram of
``/metrics``; nothing here knows of Prometheus or HTTP. ``transact`` is timed as a whole
(its function's reads and writes included: that is what the caller waits for); a ``scan``
counts only the time spent inside the store's iterator, not the consumer's work between
items, and is reported when the iteration ends or is abandoned.

    store = TimedStore(open_store("memory://"), lambda op, s: print(op, s))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from voxhub.storage.base import KVStore, Txn

T = TypeVar("T")
P = ParamSpec("P")

#: called after each operation with its name (``get``, ``pick_values``, ...) and duration
StoreTimer = Callable[[str, float], None]


def backend_name(store: KVStore) -> str:
    """A short name of the backend of ``store``: ``memory``, ``lmdb``, ``s3``, ...

    >>> from voxhub.storage import MemoryStore
    >>> backend_name(MemoryStore())
    'memory'
    """
    try:
        scheme = urlsplit(store.spec()).scheme
    except NotImplementedError:
        scheme = ""
    return scheme or type(store).__name__.lower().removesuffix("store") or "store"


class TimedStore(KVStore):
    """Wraps ``inner`` and reports each operation's duration to ``timer``."""

    def __init__(self, inner: KVStore, timer: StoreTimer) -> None:
        self.inner = inner
        self._timer = timer
        # capabilities are the wrapped store's (class attributes, shadowed per instance)
        self.supports_transactions = inner.supports_transactions  # type: ignore[misc]
        self.supports_multiprocess = inner.supports_multiprocess  # type: ignore[misc]
        self.low_latency_reads = inner.low_latency_reads  # type: ignore[misc]
        self.persistent = inner.persistent  # type: ignore[misc]

    def _timed(self, operation: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self._timer(operation, time.perf_counter() - start)

    # -- reads -------------------------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        return self._timed("get", self.inner.get, key)

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return self._timed("get_many", self.inner.get_many, keys)

    def change_marker(self) -> int | None:
        return self.inner.change_marker()  # not a store operation: microseconds, untimed

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        items = self.inner.scan(start, end, keys_only=keys_only)
        spent = 0.0
        try:
            while True:
                began = time.perf_counter()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    spent += time.perf_counter() - began
                yield item
        finally:
            close = getattr(items, "close", None)
            if close is not None:  # an abandoned scan releases the store's cursor now
                close()
            self._timer("scan", spent)

    def scan_many(
        self, ranges: Sequence[tuple[bytes, bytes]], *, keys_only: bool = False
    ) -> list[list[tuple[bytes, bytes | None]]]:
        return self._timed("scan_many", self.inner.scan_many, ranges, keys_only=keys_only)

    def pick_values(
        self,
        ranges: Sequence[tuple[bytes, bytes]],
        choose: Callable[[Iterator[bytes]], bytes | None],
    ) -> list[bytes | None]:
        return self._timed("pick_values", self.inner.pick_values, ranges, choose)

    def with_picked_values(
        self,
        ranges: Sequence[tuple[bytes, bytes]],
        choose: Callable[[Iterator[bytes]], bytes | None],
        use: Callable[[Sequence[bytes | memoryview | None]], T],
    ) -> T:
        # reported as ``pick_values``, without the time ``use`` took (the caller's decoding,
        # which runs inside the store's read transaction to use its zero-copy views)
        in_use = 0.0

        def timed_use(values: Sequence[bytes | memoryview | None]) -> T:
            nonlocal in_use
            began = time.perf_counter()
            try:
                return use(values)
            finally:
                in_use += time.perf_counter() - began

        start = time.perf_counter()
        try:
            return self.inner.with_picked_values(ranges, choose, timed_use)
        finally:
            self._timer("pick_values", time.perf_counter() - start - in_use)

    def same_values(self, pairs: Sequence[tuple[bytes, bytes]]) -> list[bool]:
        return self._timed("same_values", self.inner.same_values, pairs)

    # -- writes ------------------------------------------------------------------------
    def put(self, key: bytes, value: bytes) -> None:
        self._timed("put", self.inner.put, key, value)

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        self._timed("put_many", self.inner.put_many, items)

    def delete(self, key: bytes) -> None:
        self._timed("delete", self.inner.delete, key)

    def delete_many(self, keys: Iterable[bytes]) -> None:
        self._timed("delete_many", self.inner.delete_many, keys)

    def delete_range(self, start: bytes, end: bytes | None = None) -> int:
        return self._timed("delete_range", self.inner.delete_range, start, end)

    def compare_and_swap(self, key: bytes, expected: bytes | None, new: bytes | None) -> bool:
        return self._timed(
            "compare_and_swap", lambda: self.inner.compare_and_swap(key, expected, new)
        )

    def transact(self, fn: Callable[[Txn], T]) -> T:
        return self._timed("transact", self.inner.transact, fn)

    def bulk_writes(self) -> AbstractContextManager[None]:
        return self.inner.bulk_writes()  # a hint, not an operation: not timed

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        self.inner.close()

    def spec(self) -> str:
        return self.inner.spec()

    def __repr__(self) -> str:
        return f"TimedStore({self.inner!r})"
