"""Which keys differ between two nodes (DVID has no diff; we add one).

Only the write sets of the versions that separate the two nodes are read
(:mod:`voxhub.versioning.writesets`), so a diff costs what changed, not the size of the
instance. Each candidate is resolved at both nodes from keys alone; keys whose visible
holder is the same version at both nodes are equal without reading a value, the others
have their two values fetched (one ``get_many``) and compared, so writing the same bytes
on two branches does not count as a difference.
"""

from __future__ import annotations

from voxhub.storage.base import KVStore
from voxhub.versioning import writesets
from voxhub.versioning.keys import tkey_range
from voxhub.versioning.view import VersionedKV


def changed_tkeys(
    store: KVStore, suspects: list[tuple[bytes, bytes | None, bytes | None]]
) -> list[bytes]:
    """The tkeys of ``(tkey, key_a, key_b)`` whose two visible values differ (a missing
    key differs from any value)."""
    both = [(t, ka, kb) for t, ka, kb in suspects if ka is not None and kb is not None]
    same = store.same_values([(ka, kb) for _, ka, kb in both])
    equal = {t for (t, _, _), eq in zip(both, same, strict=True) if eq}
    return [t for t, _, _ in suspects if t not in equal]


def diff_views(a: VersionedKV, b: VersionedKV) -> list[bytes]:
    """Sorted tkeys whose visible values differ between two views of one instance."""
    if a.instance_id != b.instance_id:
        raise ValueError("diff needs two views of the same instance")
    store = a.store
    versions = writesets.diff_versions(a.ancestry, b.ancestry)
    tkeys = sorted(writesets.written(store, a.instance_id, versions))
    found = store.scan_many([tkey_range(a.instance_id, t) for t in tkeys], keys_only=True)
    suspects: list[tuple[bytes, bytes | None, bytes | None]] = []
    for tkey, entries in zip(tkeys, found, strict=True):
        keys = [k for k, _ in entries]
        ka, kb = a.visible_key(keys), b.visible_key(keys)
        if ka != kb:
            suspects.append((tkey, ka, kb))
    return changed_tkeys(store, suspects)
