"""The node and instance each view URL names, resolved once per repo generation.

Every view request (``/precomputed/{node}/{instance}/...``, ``/zarr/...``) first resolves
its node reference and instance: a node record, an instance record and their decoding,
about a quarter of the work of answering a cached chunk. Both records, and what a
reference resolves to, change only in transactions that bump the repo's generation
(:mod:`voxhub.versioning.generations`: node created, published, committed, instance
created or reconfigured, branch moved). So a resolution is kept with the generation
record's bytes as they were *before* it was made, and reused while one ``get`` finds
them unchanged; any change, by this process or another sharing the store, makes the next
request resolve again. Before that ``get``, the store's change marker
(:meth:`~voxhub.storage.base.KVStore.change_marker`, LMDB's last transaction id) is
compared with the one read before the resolution: while nothing at all was written, not
even the generation record needs reading (a sixth of a cached chunk's server CPU).

Only references that start with a whole node UUID (32 hex digits, optionally followed by
``:branch`` and ``~N``) are kept: a shorter prefix could become ambiguous when a node is
created in *another* repo, whose generation this one does not watch; such references are
resolved on every request. Failures (404, 400) are never kept.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from voxhub.cache_stats import cache_stats
from voxhub.storage.base import KVStore
from voxhub.versioning.catalog import InstanceInfo
from voxhub.versioning.generations import generation_key

#: resolutions kept per process before the cache starts over (each a few hundred bytes)
MAX_ENTRIES = 4096
_WHOLE_UUID = re.compile(r"[0-9a-fA-F]{32}(?::[^~]*)?(?:~[0-9]+)?")
_STATS = cache_stats("view_names")


def kept(ref: str) -> bool:
    """Whether resolutions of ``ref`` may be kept: it starts with a whole UUID.

    >>> kept("0123456789abcdef0123456789abcdef:master~1"), kept("0123:master")
    (True, False)
    """
    return _WHOLE_UUID.fullmatch(ref) is not None


@dataclass(frozen=True)
class Named:
    """The node and instance a view request names, resolved without opening the instance."""

    node: str  # its UUID
    info: InstanceInfo
    labels: bool
    committed: bool
    #: the URL names the node itself (UUID or prefix), not a branch (``uuid:master``,
    #: ``:master~1``) whose node moves: only then may a client cache for ever
    pinned: bool
    #: what was opened for this resolution, reused with it (``precomputed.open_volume``)
    opened: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def immutable(self) -> bool:
        """Whether answers for this URL never change (``Cache-Control: immutable``)."""
        return self.committed and self.pinned

    def cache_key(self, *parts: Hashable) -> tuple[Hashable, ...]:
        """A view cache key of this instance at this node (committed nodes only): its
        data UUID (a recreated instance is another) and voxel size (the one setting of
        an instance that is not versioned and changes the chunk grid's names)."""
        size = repr(self.info.config.get("voxel_size"))
        return (self.node, self.info.data_uuid, size, *parts)


class ViewNames:
    """Resolutions of (reference, instance, view) keys, each filed under the generation
    record of its repo (see the module docstring)."""

    def __init__(self, store: KVStore, max_entries: int = MAX_ENTRIES) -> None:
        self._store = store
        self._max_entries = max_entries
        #: key -> (the store's change marker, generation record bytes, resolution)
        self._entries: dict[tuple[str, str, str], tuple[int | None, bytes | None, Named]] = {}
        self._lock = threading.Lock()

    def named(self, ref: str, instance: str, view: str, resolve: Callable[[], Named]) -> Named:
        """``resolve()``'s answer for node reference ``ref``, ``instance`` and ``view``
        (what the resolution checks besides), reused while its repo's generation is
        unchanged (blocking: one store ``get`` when kept, else the resolution's reads)."""
        key = (ref, instance, view)
        found = self._entries.get(key)
        if found is not None and self._holds(key, found):
            _STATS.count(hit=True)
            return found[2]
        _STATS.count(hit=False)
        answer = resolve()
        if not kept(ref):
            return answer
        # read before resolving again: an answer is never filed under a marker or a
        # generation newer than the records it was made from (at worst it is made again)
        marker = self._store.change_marker()
        generation = self._store.get(generation_key(answer.info.repo))
        again = resolve()
        if again.info.repo != answer.info.repo:  # a node never changes repo; be safe
            return again
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (marker, generation, again)
        return again

    def still(self, ref: str, instance: str, view: str, answer: Named) -> bool:
        """Whether ``ref``, ``instance`` and ``view`` still resolve to ``answer``, as far
        as kept resolutions tell (blocking: at most one store ``get``); ``False`` when
        not kept."""
        key = (ref, instance, view)
        found = self._entries.get(key)
        if found is None or found[2] is not answer or not self._holds(key, found):
            return False  # (the resolution that follows counts the lookup)
        _STATS.count(hit=True)
        return True

    def _holds(
        self, key: tuple[str, str, str], found: tuple[int | None, bytes | None, Named]
    ) -> bool:
        marker, generation, answer = found
        now = self._store.change_marker()
        if now is not None and now == marker:  # nothing at all written since
            return True
        if self._store.get(generation_key(answer.info.repo)) != generation:
            return False
        if now is not None:  # still right after ``now``: checked against it next
            self._entries[key] = (now, generation, answer)
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
