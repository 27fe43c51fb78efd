"""Compare-and-swap primitives for metadata records: the only way the catalog writes.

Every update is read → apply a pure function → ``compare_and_swap`` against the bytes
read; on a lost race it re-reads and re-applies. Rules checked inside the function are
therefore checked against the state that actually gets replaced, so two processes can
never lose each other's commit or both take one name. This needs only per-key CAS, which
every backend (object stores included) provides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from voxhub.errors import Conflict, NotFound, StorageError
from voxhub.storage.base import KVStore
from voxhub.versioning.keys import LAYOUT_VERSION, MAX_ID, meta_key, meta_range

T = TypeVar("T")

#: a CAS loop that keeps losing this often is livelocked or the store is broken.
MAX_ATTEMPTS = 10_000


def update(
    store: KVStore,
    key: bytes,
    fn: Callable[[bytes], T],
    encode: Callable[[T], bytes],
    missing: str,
) -> T:
    """Replace the record under ``key`` by ``encode(fn(old_bytes))`` with a CAS loop.

    ``fn`` may raise to refuse the update (nothing is written). ``missing`` is the
    ``NotFound`` message if the record does not exist.
    """
    for _ in range(MAX_ATTEMPTS):
        old = store.get(key)
        if old is None:
            raise NotFound(missing)
        result = fn(old)
        new = encode(result)
        if new == old or store.compare_and_swap(key, old, new):
            return result
    raise Conflict(f"gave up updating {key!r} after {MAX_ATTEMPTS} lost compare-and-swaps")


def insert(store: KVStore, key: bytes, value: bytes, taken: str) -> None:
    """Create a record that must not exist yet; ``Conflict(taken)`` if it does."""
    if not store.compare_and_swap(key, None, value):
        raise Conflict(taken)


def remove(store: KVStore, key: bytes, value: bytes) -> None:
    """Undo an :func:`insert` of ``value`` (only if nobody replaced it since)."""
    store.compare_and_swap(key, value, None)


def allocate_id(store: KVStore, counter: str) -> int:
    """The next id of ``counter`` (1, 2, ...), unique across processes."""
    key = meta_key(f"counter/{counter}")
    for _ in range(MAX_ATTEMPTS):
        old = store.get(key)
        value = int(old) if old is not None else 1
        if value >= MAX_ID:
            raise Conflict(f"the {counter} id space (4 bytes) is exhausted")
        if store.compare_and_swap(key, old, str(value + 1).encode()):
            return value
    raise Conflict(f"gave up allocating a {counter} id after {MAX_ATTEMPTS} attempts")


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
