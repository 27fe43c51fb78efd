"""``RepoCache``: values derived from a repo's records, reused while its generation holds.

Every change of a repo's records bumps the repo's generation in the same transaction
(:meth:`voxhub.versioning.catalog.Catalog.generation`), so one ``get`` tells whether a
value built earlier is still current. The server caches ``/api/repos/info``'s serialised
DAG this way: with 10⁵ nodes, building it reads and encodes every node record, serving it
again only sends bytes.

Each process keeps its own cache and the generation lives in the store, so several server
workers (or processes) sharing one store never serve each other's stale values. The
generation is read *before* building, so a value is never filed under a generation newer
than what it was built from (at worst it is newer than its generation says, and is
rebuilt once more).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from voxhub.cache_stats import cache_stats
from voxhub.versioning.catalog import Catalog

#: lookups counted for /metrics (voxhub.cache_stats), over every RepoCache of the process
_STATS = cache_stats("repo_derived")

T = TypeVar("T")

#: values kept per cache before it starts over
MAX_ENTRIES = 1024


class RepoCache:
    """Values per (kind, repo root), built by the caller's function, kept per generation.

    ``kind`` names what is cached (e.g. ``"dvid-info"``), so that several users can share
    one cache without meeting each other's values.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._entries: dict[tuple[str, str], tuple[int, Any]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self,
        kind: str,
        root: str,
        build: Callable[[], T],
        update: Callable[[T, set[str]], T | None] | None = None,
    ) -> T:
        """The ``kind`` value of repo ``root``: cached if the repo's generation is
        unchanged; else ``update(old value, node UUIDs changed since)`` when given and the
        generation record still names them (``None`` from it: rebuild), else ``build()``.
        Both must read the repo's records themselves, after this call began."""
        generation = self._catalog.generation(root)
        number = generation.number
        with self._lock:
            found = self._entries.get((kind, root))
        if found is not None and found[0] == number:
            self.hits += 1
            _STATS.count(hit=True)
            return cast(T, found[1])
        self.misses += 1
        _STATS.count(hit=False)
        value: T | None = None
        if found is not None and update is not None:
            touched = generation.touched_since(found[0])
            if touched is not None:
                value = update(cast(T, found[1]), touched)
        if value is None:
            value = build()
        with self._lock:
            current = self._entries.get((kind, root))
            if current is None and len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()  # kinds come and go (e.g. per visible node set)
            if current is None or current[0] <= number:  # never replace a newer one
                self._entries[(kind, root)] = (number, value)
        return value
