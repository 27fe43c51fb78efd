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

from voxhub.errors import Conflict, NotFound
from voxhub.storage.base import KVStore
from voxhub.versioning.keys import MAX_ID, meta_key

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
