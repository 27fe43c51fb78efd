"""A shared/exclusive (readers-writer) lock for threads of one process.

:class:`~voxhub.storage.lmdb_store.LmdbStore` holds it *shared* around every LMDB
transaction and *exclusive* around ``set_mapsize``, which LMDB allows only while no
transaction of the process is open (remapping under a live reader would leave it reading
freed memory).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SharedExclusiveLock:
    """Many shared holders or one exclusive holder; exclusive waiters get priority.

    Shared acquisition is re-entrant per thread (a thread already holding it shared
    never waits, even behind an exclusive waiter, which would otherwise deadlock).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._shared = 0
        self._exclusive = False
        self._exclusive_waiting = 0
        self._local = threading.local()

    def _depth(self) -> int:
        depth: int = getattr(self._local, "depth", 0)
        return depth

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the lock shared for the ``with`` block."""
        depth = self._depth()
        with self._cond:
            if depth == 0:
                while self._exclusive or self._exclusive_waiting:
                    self._cond.wait()
            self._shared += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            with self._cond:
                self._shared -= 1
                if self._shared == 0:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock exclusively for the ``with`` block."""
        if self._depth():
            raise RuntimeError("exclusive lock requested by a thread that holds it shared")
        with self._cond:
            self._exclusive_waiting += 1
            try:
                while self._exclusive or self._shared:
                    self._cond.wait()
            finally:
                self._exclusive_waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()
