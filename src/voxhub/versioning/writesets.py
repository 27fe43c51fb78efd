"""Per-version write sets: which tkeys each version wrote, so diffs and merges read only
what changed instead of scanning an instance.

Every versioned write records ``0x02 | instance | version | tkey`` in the same
transaction as the data (:mod:`voxhub.versioning.view`). A merge node's write set also
holds everything written on its *sides* (by versions that are ancestors of some but not
all of its parents), recorded when the merge is created.

Why that suffices — for two nodes *a* and *b*, a tkey can only read differently if

1. some version in ``anc(a) Δ anc(b)`` wrote it (otherwise both see the same holders), or
2. several holders survive invalidation and the two priority orders rank them
   differently. Two incomparable holders *h1*, *h2* are joined by a merge *s* above them
   where one of them lies on a side, so the tkey is in *s*'s write set.

So the candidates are the write sets of ``anc(a) Δ anc(b)`` and of every merge among
their ancestors; each candidate is then resolved at both nodes from keys alone and only
keys with different visible holders have their values compared. Merge conflict checks use
the same argument with the would-be merge child in place of *a*.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from voxhub.storage.base import KVStore, Txn
from voxhub.versioning.dag import Ancestry
from voxhub.versioning.keys import (
    MARK_DATA,
    MARK_TOMBSTONE,
    TOMBSTONE,
    WRITES_HEADER,
    data_key,
    write_set_key,
    writes_range,
)


def written(store: KVStore, instance_id: int, versions: Iterable[int]) -> set[bytes]:
    """The tkeys of an instance written by any of ``versions`` (one ``scan_many``)."""
    ranges = [writes_range(instance_id, v) for v in sorted(set(versions)) if v >= 0]
    found = store.scan_many(ranges, keys_only=True)
    return {key[WRITES_HEADER:] for entries in found for key, _ in entries}


def record(txn: Txn, instance_id: int, version_id: int, tkeys: Iterable[bytes]) -> None:
    """Add ``tkeys`` to a version's write set inside ``txn``."""
    for tkey in tkeys:
        txn.put(write_set_key(instance_id, version_id, tkey), TOMBSTONE)


def erase(txn: Txn, instance_id: int, version_id: int, tkeys: Iterable[bytes]) -> None:
    """Delete what a version wrote of ``tkeys`` (its write set) and the write set."""
    for tkey in tkeys:
        for mark in (MARK_DATA, MARK_TOMBSTONE):
            txn.delete(data_key(instance_id, tkey, version_id, mark))
        txn.delete(write_set_key(instance_id, version_id, tkey))


def diff_versions(a: Ancestry, b: Ancestry) -> set[int]:
    """Versions whose write sets hold every tkey that can read differently at a and b."""
    return set(a.members ^ b.members) | a.merges | b.merges


def merge_sides(parents: Sequence[Ancestry]) -> set[int]:
    """Versions that are ancestors of some but not all of ``parents``."""
    union = frozenset().union(*(p.members for p in parents))
    common = frozenset.intersection(*(p.members for p in parents))
    return set(union - common)


def merge_versions(parents: Sequence[Ancestry]) -> set[int]:
    """Versions whose write sets hold every tkey that can conflict in a merge."""
    return merge_sides(parents).union(*(p.merges for p in parents))
