"""Which keys differ between two nodes (DVID has no diff; we add one).

One keys-only scan of the instance groups the stored versions by tkey; keys whose visible
holder is the same version at both nodes are equal without reading a value. Only keys
with different holders have their two values fetched (one ``get_many``) and compared,
so writing the same bytes on two branches does not count as a difference.
"""

from __future__ import annotations

from itertools import groupby

from voxhub.versioning.dag import resolve_visible
from voxhub.versioning.keys import instance_range, tkey_of, version_of
from voxhub.versioning.view import VersionedKV


def diff_views(a: VersionedKV, b: VersionedKV) -> list[bytes]:
    """Sorted tkeys whose visible values differ between two views of one instance."""
    if a.instance_id != b.instance_id:
        raise ValueError("diff needs two views of the same instance")
    store = a.store
    raw = store.scan(*instance_range(a.instance_id), keys_only=True)
    suspects: list[tuple[bytes, int | None, int | None]] = []
    for tkey, group in groupby((k for k, _ in raw), key=tkey_of):
        holders = [version_of(k) for k in group]
        ha = resolve_visible(holders, a.ancestry, a.lineage)
        hb = resolve_visible(holders, b.ancestry, b.lineage)
        if ha != hb:
            suspects.append((tkey, ha, hb))
    prefix = instance_range(a.instance_id)[0]
    keys = [
        prefix + tkey + h.to_bytes(4, "big")
        for tkey, ha, hb in suspects
        for h in (ha, hb)
        if h is not None
    ]
    values = iter(store.get_many(keys))
    changed = []
    for tkey, ha, hb in suspects:
        va = next(values) or None if ha is not None else None
        vb = next(values) or None if hb is not None else None
        if va != vb:
            changed.append(tkey)
    return changed
