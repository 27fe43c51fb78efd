"""Which keys differ between two nodes (DVID has no diff; we add one).

One keys-only scan of the instance groups the stored versions by tkey; keys whose visible
holder is the same version at both nodes are equal without reading a value. Only keys
with different holders have their two values fetched (one ``get_many``) and compared,
so writing the same bytes on two branches does not count as a difference.
"""

from __future__ import annotations

from itertools import groupby

from voxhub.storage.base import KVStore
from voxhub.versioning.dag import resolve_visible
from voxhub.versioning.keys import instance_range, is_tombstone, tkey_of, version_of
from voxhub.versioning.view import VersionedKV


def visible_key(keys: list[bytes], view: VersionedKV) -> bytes | None:
    """The data key of ``keys`` (one tkey's versions) visible from ``view``'s node."""
    held = {version_of(k): k for k in keys}
    best = resolve_visible(held, view.ancestry, view.lineage)
    return None if best is None or is_tombstone(held[best]) else held[best]


def changed_tkeys(
    store: KVStore, suspects: list[tuple[bytes, bytes | None, bytes | None]]
) -> list[bytes]:
    """The tkeys of ``(tkey, key_a, key_b)`` whose two visible values differ."""
    wanted = sorted({k for _, ka, kb in suspects for k in (ka, kb) if k is not None})
    values = dict(zip(wanted, store.get_many(wanted), strict=True))
    return [
        tkey
        for tkey, ka, kb in suspects
        if (values[ka] if ka is not None else None) != (values[kb] if kb is not None else None)
    ]


def diff_views(a: VersionedKV, b: VersionedKV) -> list[bytes]:
    """Sorted tkeys whose visible values differ between two views of one instance."""
    if a.instance_id != b.instance_id:
        raise ValueError("diff needs two views of the same instance")
    store = a.store
    raw = store.scan(*instance_range(a.instance_id), keys_only=True)
    suspects: list[tuple[bytes, bytes | None, bytes | None]] = []
    for tkey, group in groupby((k for k, _ in raw), key=tkey_of):
        keys = list(group)
        ka, kb = visible_key(keys, a), visible_key(keys, b)
        if ka != kb:
            suspects.append((tkey, ka, kb))
    return changed_tkeys(store, suspects)
