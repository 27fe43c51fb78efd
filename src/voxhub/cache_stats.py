"""Hit and miss counts of this process's in-memory caches, for the server's ``/metrics``.

Caches anywhere in the stack count their lookups under a fixed name: ``ancestry`` and
``ancestry_chunk`` (:mod:`voxhub.versioning.dag`, :mod:`voxhub.versioning.nodes`),
``node_record`` (a node's immutable fields), ``scratch_buffer`` (the block pool's
per-thread decode buffers, :mod:`voxhub.blocks.pool`), ``output_mapping`` (large read
outputs written into a kept mapping, :mod:`voxhub.blocks.output`), ``repo_derived``
(values derived from a repo's records, such as ``/api/repos/info``'s DAG,
:mod:`voxhub.service.repo_cache`), ``image_config`` (parsed instance configs,
:mod:`voxhub.datatypes.imageblk.config`) and ``auth_state`` (the parsed auth record,
:mod:`voxhub.service.auth.policy`). The server turns the totals into Prometheus counters
(:mod:`voxhub.server.metrics`). This module sits below every layer and knows nothing of
Prometheus, so the numpy API pays a lock and an integer addition per lookup, nothing
more.

>>> stats = cache_stats("doctest")
>>> stats.count(hit=False); stats.count(hit=True); stats.count(hit=True)
>>> snapshot()["doctest"]
(2, 1)
"""

from __future__ import annotations

import os
import threading


class CacheStats:
    """Lookups of one named cache (totals over every instance of it in this process)."""

    __slots__ = ("_lock", "hits", "misses", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.hits = 0
        self.misses = 0
        # a lock, because `+=` on an attribute is not atomic across threads
        self._lock = threading.Lock()

    def count(self, *, hit: bool) -> None:
        """Count one lookup."""
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1


_ALL: dict[str, CacheStats] = {}
_ALL_LOCK = threading.Lock()


def cache_stats(name: str) -> CacheStats:
    """The counts of the cache called ``name`` (created on first use, then shared)."""
    with _ALL_LOCK:
        stats = _ALL.get(name)
        if stats is None:
            stats = _ALL[name] = CacheStats(name)
        return stats


def snapshot() -> dict[str, tuple[int, int]]:
    """``{name: (hits, misses)}`` of every cache counted so far."""
    with _ALL_LOCK:
        return {name: (s.hits, s.misses) for name, s in _ALL.items()}


def _fresh_locks() -> None:
    # a lock held by another thread at fork() stays held forever in the child
    global _ALL_LOCK
    _ALL_LOCK = threading.Lock()
    for stats in _ALL.values():
        stats._lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_locks)
