"""The store's layout record: which physical key layout a store was written with.

Every other metadata record is written inside store transactions (the catalog,
:mod:`voxhub.versioning.nodes`, the id counters of :mod:`voxhub.versioning.counters`).
The layout record is created with one ``compare_and_swap`` and never changes (the auth
record, :mod:`voxhub.service.auth.store`, is only ever compare-and-swapped too), so the
rule that keys written by transactions are not also compare-and-swapped (S3,
:mod:`voxhub.storage.s3_txn`) holds.
"""

from __future__ import annotations

from voxhub.errors import StorageError
from voxhub.storage.base import KVStore
from voxhub.versioning.keys import LAYOUT_VERSION, meta_key, meta_range

_LAYOUT_KEY = meta_key("layout")


def check_layout(store: KVStore) -> None:
    """Refuse a store written with another physical key layout (one ``get``).

    A store with repos but no layout record was written by layout 1 (tombstones as empty
    values, no write sets), which this version cannot read correctly.
    """
    raw = store.get(_LAYOUT_KEY)
    if raw is None:
        start, end = meta_range("repo/")
        if next(iter(store.scan(start, end, keys_only=True)), None) is None:
            return  # empty: the first create_repo records the layout
        found = "1"
    else:
        found = raw.decode(errors="replace")
    if found != str(LAYOUT_VERSION):
        raise StorageError(
            f"store {_describe(store)} uses key layout {found}, this voxhub reads layout "
            f"{LAYOUT_VERSION} only (no migration exists yet); export it with the voxhub "
            "that wrote it, or start a new store"
        )


def record_layout(store: KVStore) -> None:
    """Mark a store as written with the current layout (idempotent)."""
    store.compare_and_swap(_LAYOUT_KEY, None, str(LAYOUT_VERSION).encode())


def _describe(store: KVStore) -> str:
    try:
        return store.spec()
    except NotImplementedError:
        return repr(store)
