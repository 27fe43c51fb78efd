"""A byte-budgeted LRU of encoded view answers (precomputed and Zarr chunks, shards,
meshes), one per server process.

Views are computed from the stored blocks on request; encoding a chunk or assembling a
shard costs far more than sending it, and a viewer asks for the same chunks again on every
pan and zoom. A committed node's chunks never change, so an answer keyed by (node,
instance, view, key) stays right for ever; an open node's answers may be cached only under
a key that includes the version of everything they depend on. The budget is in bytes of
cached answers; the least recently used go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

#: the default budget of one server process (``ServerSettings.view_cache_bytes``)
DEFAULT_VIEW_CACHE_BYTES = 256 << 20


@dataclass(frozen=True)
class ViewCacheStats:
    """Counters since the cache was made, and what it holds now."""

    hits: int
    misses: int
    entries: int
    bytes: int


class ViewCache:
    """Thread-safe LRU of ``bytes`` answers (``None``, an absent chunk, is cached too: an
    unwritten block of a committed node stays unwritten).

    >>> cache = ViewCache(max_bytes=10)
    >>> cache.get_or_compute(("n", "em", "raw", "0-64"), lambda: b"abc")
    b'abc'
    >>> cache.get_or_compute(("n", "em", "raw", "0-64"), lambda: b"other")
    b'abc'
    >>> cache.stats().hits
    1
    """

    def __init__(self, max_bytes: int = DEFAULT_VIEW_CACHE_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"a view cache budget cannot be negative, got {max_bytes}")
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, bytes | None] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    def get(self, key: Hashable) -> tuple[bool, bytes | None]:
        """``(True, answer)`` if ``key`` is cached (and marks it recently used)."""
        with self._lock:
            if key not in self._entries:
                self._misses += 1
                return False, None
            self._entries.move_to_end(key)
            self._hits += 1
            return True, self._entries[key]

    def put(self, key: Hashable, answer: bytes | None) -> None:
        """Cache ``answer``; one larger than the whole budget is not kept."""
        size = 0 if answer is None else len(answer)
        if size > self._max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes -= 0 if old is None else len(old)
            self._entries[key] = answer
            self._bytes += size
            while self._bytes > self._max_bytes or len(self._entries) > self._max_entries():
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= 0 if dropped is None else len(dropped)

    def get_or_compute(self, key: Hashable, compute: Callable[[], bytes | None]) -> bytes | None:
        """The cached answer of ``key``, or ``compute()``'s (then cached). Two threads
        missing the same key at once both compute it: the answers are equal, and holding
        the lock while encoding would serialise every view request."""
        found, answer = self.get(key)
        if found:
            return answer
        answer = compute()
        self.put(key, answer)
        return answer

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> ViewCacheStats:
        with self._lock:
            return ViewCacheStats(self._hits, self._misses, len(self._entries), self._bytes)

    def _max_entries(self) -> int:
        # absent chunks weigh nothing in bytes; bound their number by the budget too
        # (one entry per 64 bytes of budget, at least 1024), so a scan of an empty region
        # cannot grow the dictionary without limit
        return max(1024, self._max_bytes // 64) if self._max_bytes else 0
