"""A byte-budgeted LRU of encoded view answers (precomputed and Zarr chunks, shards,
meshes), one per server process.

Views are computed from the stored blocks on request; encoding a chunk or assembling a
shard costs far more than sending it, and a viewer asks for the same chunks again on every
pan and zoom. A committed node's chunks never change, so an answer keyed by (node,
instance, view, key) stays right for ever; an open node's answers may be cached only under
a key that includes the version of everything they depend on. The budget is in bytes of
cached answers; the least recently used go first. The workers of one server may share a
second tier behind it (:mod:`.view_cache_shared`), so an answer is made once per server
rather than once per worker.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class _Missing:
    """What :meth:`ViewCache.get` finds for a key it does not hold."""


_MISSING = _Missing()

#: the default budget of one server process (``ServerSettings.view_cache_bytes``) and
#: the least ``voxhub serve`` picks (:func:`serve_view_cache_bytes`)
DEFAULT_VIEW_CACHE_BYTES = 256 << 20
#: the most ``voxhub serve`` picks for all its workers together
LARGEST_AUTO_BUDGET = 8 << 30


def serve_view_cache_bytes(workers: int, memory: int | None = None) -> int:
    """The view cache budget of each of ``voxhub serve``'s ``workers`` when none is
    given: a sixteenth of the memory this process may use (``memory``: the machine's,
    or its cgroup's limit if lower), at most 8 GiB, split among the workers, and at
    least 256 MiB each. Static file servers have the whole page cache; a viewer's
    working set (a 512³ EM volume is 128 MiB at each of two versions) should fit too,
    without taking over a shared machine.

    >>> serve_view_cache_bytes(1, 24 << 30) >> 20, serve_view_cache_bytes(2, 24 << 30) >> 20
    (1536, 768)
    >>> serve_view_cache_bytes(4, 2 << 30) >> 20, serve_view_cache_bytes(1, 1 << 40) >> 30
    (256, 8)
    """
    memory = usable_memory() if memory is None else memory
    total = min(LARGEST_AUTO_BUDGET, max(DEFAULT_VIEW_CACHE_BYTES, memory // 16))
    return max(DEFAULT_VIEW_CACHE_BYTES, total // max(1, workers))


def usable_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its cgroup's limit (v2
    ``memory.max``, v1 ``memory.limit_in_bytes``) if lower."""
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            memory = min(memory, int(text))
    return memory


@dataclass(frozen=True)
class Built:
    """An answer made at an open node, kept with exactly what it was made from:
    ``source``, the stored values it read (and, for body ids, the bodies of its
    supervoxels, named in ``extra``). It is the answer again while a read of the same
    values finds them equal, byte for byte: no digest to compute, none to trust."""

    source: tuple[bytes | None, ...]
    body: bytes
    tag: str
    headers: tuple[tuple[str, str], ...] = ()
    extra: object = None  # what the caller needs to read ``source`` again
    #: the store's change marker read before ``source`` was last read (``None``: none):
    #: while the store's marker is still this, nothing was written, so ``source`` holds
    marker: int | None = None

    @property
    def nbytes(self) -> int:
        held = sum(len(v) for v in self.source if v is not None)
        return len(self.body) + held + int(getattr(self.extra, "nbytes", 0))


_Entry = bytes | Built | None


def _size(entry: _Entry) -> int:
    if entry is None:
        return 0
    return entry.nbytes if isinstance(entry, Built) else len(entry)


class SharedTier(Protocol):
    """Answers shared with other processes (:class:`~.view_cache_shared.SharedViewCache`)."""

    def get(self, key: Hashable) -> tuple[bool, bytes | None]: ...

    def put(self, key: Hashable, answer: bytes | None) -> None: ...


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

    def __init__(
        self, max_bytes: int = DEFAULT_VIEW_CACHE_BYTES, shared: SharedTier | None = None
    ) -> None:
        if max_bytes < 0:
            raise ValueError(f"a view cache budget cannot be negative, got {max_bytes}")
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()
        #: the other workers' answers, asked when this process has none (and told of
        #: every answer this one makes)
        self._shared = shared if max_bytes else None

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    def get(self, key: Hashable) -> tuple[bool, bytes | None]:
        """``(True, answer)`` if ``key`` is cached (and marks it recently used), here or
        in the shared tier (then kept here too)."""
        with self._lock:
            found = self._entries.get(key, b"") if key in self._entries else _MISSING
            if isinstance(found, Built):  # a Built is made and read elsewise
                self._misses += 1
                return False, None
            if not isinstance(found, _Missing):
                self._entries.move_to_end(key)
                self._hits += 1
                return True, found
            self._misses += 1
        if self._shared is None:
            return False, None
        shared, answer = self._shared.get(key)
        if shared:
            self._put(key, answer)
        return shared, answer

    def put(self, key: Hashable, answer: bytes | None) -> None:
        """Cache ``answer`` (and share it); one larger than the whole budget is not kept."""
        self._put(key, answer)
        if self._shared is not None:
            self._shared.put(key, answer)

    def get_built(
        self, key: Hashable, source: tuple[bytes | None, ...], marker: int | None = None
    ) -> Built | None:
        """The :class:`Built` answer of ``key`` if it was made from ``source`` exactly;
        ``source`` was read after the store's change marker was ``marker``, which the
        answer then notes (:meth:`built_since`)."""
        return self._find_built(key, lambda b: b.source == source, marker)

    def built_since(self, key: Hashable, marker: int | None) -> Built | None:
        """The :class:`Built` answer of ``key`` if its source was last read after the
        store's change marker was ``marker`` (not ``None``): nothing written since."""
        if marker is None:
            return None
        return self._find_built(key, lambda b: b.marker == marker, None, count_miss=False)

    def _find_built(
        self,
        key: Hashable,
        matches: Callable[[Built], bool],
        marker: int | None,
        *,
        count_miss: bool = True,
    ) -> Built | None:
        with self._lock:
            found = self._entries.get(key)
            if isinstance(found, Built) and matches(found):
                if marker is not None and found.marker != marker:
                    found = self._entries[key] = dataclasses.replace(found, marker=marker)
                self._entries.move_to_end(key)
                self._hits += 1
                return found
            if count_miss:
                self._misses += 1
            return None

    def peek_built(self, key: Hashable) -> Built | None:
        """The :class:`Built` answer of ``key``, whatever it was made from (not counted:
        the caller reads its source again and then asks :meth:`get_built`)."""
        with self._lock:
            found = self._entries.get(key)
            return found if isinstance(found, Built) else None

    def put_built(self, key: Hashable, built: Built) -> None:
        """Keep ``built`` under ``key`` (replacing what was made from other values)."""
        self._put(key, built)

    def _put(self, key: Hashable, entry: _Entry) -> None:
        size = _size(entry)
        if size > self._max_bytes:
            return
        with self._lock:
            self._bytes -= _size(self._entries.pop(key, None))
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self._max_bytes or len(self._entries) > self._max_entries():
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= _size(dropped)

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
