"""Repo-wide id counters kept in the store: label ranges and mutation ids.

Disjoint across threads, processes and branches (one compare-and-swap key per counter),
because two proofreaders on two branches must never be handed the same new body id.
"""

from __future__ import annotations

from voxhub.storage.base import KVStore
from voxhub.versioning import metastore
from voxhub.versioning.keys import meta_key

#: written ids at or above this do not raise the label counter (see ``see``).
SEEN_LIMIT = 2**63


class StoreCounters:
    """Counters of one labelmap instance (labels) and of its repo (mutation ids)."""

    def __init__(self, store: KVStore, repo_root: str, instance_uuid: str, first_mutation: int):
        self._store = store
        self._labels = f"labels/{instance_uuid}"
        self._mutations = f"mutations/{repo_root}"
        self._first_mutation = first_mutation

    def reserve(self, count: int) -> int:
        """The first of ``count`` fresh label ids, above every id :meth:`see` was shown."""
        return metastore.allocate_range(self._store, self._labels, count)

    def see(self, label: int) -> None:
        """Ids up to ``label`` are in use: never hand them out.

        Ids from 2**63 up (hashes, sentinels such as 2**64-1) do not move the counter, or
        one such id would exhaust it; fresh ids stay below 2**63 and cannot meet them.
        """
        if label < SEEN_LIMIT:
            metastore.raise_floor(self._store, self._labels, label + 1)

    def next_label(self) -> int:
        """The id the next reservation would start at (without reserving it)."""
        value = self._store.get(meta_key(f"range/{self._labels}"))
        return int(value) if value is not None else 1

    def mutation_id(self) -> int:
        """A fresh repo-wide mutation id (DVID's numbering: the first is 1000000001)."""
        return metastore.allocate_range(
            self._store, self._mutations, 1, floor=self._first_mutation + 1
        )
