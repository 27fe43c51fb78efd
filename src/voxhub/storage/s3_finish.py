"""Finishing S3 transactions that others committed, and clearing dead writers' locks.

The protocol is described in :mod:`voxhub.storage.s3_txn`. Here is what readers, writers
and a newly opened store do when they meet another transaction's records: apply a
committed intent's writes (safe for anyone, any time: each is conditional on the
pre-commit ETag), finish it outright once its writer's lease is over, mark writers that
died before their commit point as aborted, and take over and remove their locks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from voxhub.storage.s3_intent import (
    Intent,
    Lock,
    Write,
    aborted_intent,
    decode_intent,
    decode_lock,
    encode_lock,
)
from voxhub.storage.s3_names import INTENT_PREFIX, intent_name, lock_name, name_of

if TYPE_CHECKING:
    from voxhub.storage.s3_store import S3Store

#: default lease of a transaction's locks, in seconds (``S3Store.txn_lease_s``).
DEFAULT_LEASE_S = 30.0


# Only a lock's holder deletes it, and only while its lease runs: S3 has no conditional
# delete, so a lock deleted by anyone else could be a *new* holder's lock. Everybody else
# takes a lock over first (a conditional overwrite, which is safe) and then deletes it.


def read_intent(store: S3Store, txn_id: str) -> Intent | None:
    body, _ = store.get_object(intent_name(txn_id))
    return None if body is None else decode_intent(body)


def apply_writes(store: S3Store, intent: Intent) -> bool:
    """Write a committed intent's keys (idempotent); return whether any write landed.

    Each write is conditional on the ETag the key had before the commit, so a write that
    someone already applied (the writer, or another reader finishing it) is skipped.
    """

    def apply(w: Write) -> bool:
        name = name_of(w.key)
        if w.value is not None:
            return store.put_object(name, w.value, etag=w.expected_etag) is not None
        if w.expected_etag is not None and store.head_object(name) == w.expected_etag:
            store.delete_objects([name])
            return True
        return False

    return any(store._parallel(apply, intent.writes))


def lease(store: S3Store) -> Lock:
    return Lock(uuid.uuid4().hex, store.clock() + store.txn_lease_s)


def _take_over(store: S3Store, names: Sequence[str], holder: str, mine: Lock) -> list[str]:
    """Overwrite the locks among ``names`` still held by ``holder`` ('' = any dead one)."""

    def take(name: str) -> bool:
        body, etag = store.get_object(name)
        if body is None or etag is None:
            return False
        held = decode_lock(body)
        if holder and (held is None or held.txn != holder):
            return False
        return store.put_object(name, encode_lock(mine), etag=etag) is not None

    return [n for n, ok in zip(names, store._parallel(take, names), strict=True) if ok]


def release(store: S3Store, names: Sequence[str], mine: Lock) -> None:
    """Delete our locks, while our lease surely still runs; else leave them to expire."""
    if names and store.clock() < mine.expires - store.txn_lease_s / 4:
        store.delete_objects(names)


def finish(store: S3Store, txn_id: str, intent: Intent, mine: Lock) -> None:
    """Apply ``intent`` and clean it up, holding its locks as ``mine``."""
    apply_writes(store, intent)
    store.delete_objects([intent_name(txn_id)])  # first: a lock left behind is harmless
    release(store, [lock_name(k) for k in intent.locked], mine)


def finish_for_dead_writer(store: S3Store, txn_id: str, intent: Intent) -> None:
    """Finish a committed intent whose writer's lease is over (it died or stalled)."""
    mine = lease(store)
    taken = _take_over(store, [lock_name(k) for k in intent.locked], txn_id, mine)
    apply_writes(store, intent)
    store.delete_objects([intent_name(txn_id)])
    release(store, taken, mine)


def _abort_or_finish(store: S3Store, txn_id: str) -> bool:
    """Make sure ``txn_id`` (whose lease is over) never commits; finish it if it has.

    Returns whether it had committed (and is now finished).
    """
    if store.put_object(intent_name(txn_id), aborted_intent(store.clock()), etag=None) is not None:
        return False  # we wrote "aborted": its own commit will now fail
    intent = read_intent(store, txn_id)
    if intent is not None and intent.committed:
        finish_for_dead_writer(store, txn_id, intent)
        return True
    return False


def settle_locks(store: S3Store, keys: Sequence[bytes]) -> tuple[set[str], bool]:
    """Bring the keys a reader's listing found locked to a whole state.

    A committed holder's writes are applied — all of them have landed when this returns,
    whoever wrote them (a live writer then cleans up itself; a dead one's intent and locks
    are cleaned up here); locks of dead holders that never committed are removed. Returns
    the committed transactions met and whether dead locks were cleared: the caller lists
    again unless it already did after meeting the same transactions.
    """
    names = [lock_name(k) for k in dict.fromkeys(keys)]
    bodies = store._parallel(store.get_object, names)
    holders: dict[str, list[str]] = {}
    expired: dict[str, bool] = {}
    for name, (body, _) in zip(names, bodies, strict=True):
        if body is not None:
            lock = decode_lock(body) or Lock("", 0.0)
            holders.setdefault(lock.txn, []).append(name)
            expired[lock.txn] = expired.get(lock.txn, True) and lock.expired(store.clock())
    committed: set[str] = set()
    cleared = False
    for txn_id, locks in holders.items():
        intent = read_intent(store, txn_id) if txn_id else None
        if intent is not None and intent.committed:
            committed.add(txn_id)
            if store.clock() >= intent.expires:
                finish_for_dead_writer(store, txn_id, intent)
            else:
                apply_writes(store, intent)
            continue
        if intent is None and not expired[txn_id]:
            continue  # a live writer before its commit point: its keys are unchanged
        cleared = True
        if intent is None and txn_id and _abort_or_finish(store, txn_id):
            continue
        mine = lease(store)
        release(store, _take_over(store, locks, txn_id, mine), mine)
    return committed, cleared


def lock_one(store: S3Store, key: bytes, mine: Lock) -> bool:
    """Take ``key``'s lock for ``mine``; ``False`` if a live transaction holds it."""
    name = lock_name(key)
    for _ in range(4):
        if store.put_object(name, encode_lock(mine), etag=None) is not None:
            return True
        body, etag = store.get_object(name)
        if body is None or etag is None:
            continue  # released meanwhile
        held = decode_lock(body) or Lock("", 0.0)
        intent = read_intent(store, held.txn) if held.txn else None
        if intent is not None and intent.committed:
            if store.clock() < intent.expires:
                apply_writes(store, intent)  # help; the live writer releases the lock
                return False
            finish_for_dead_writer(store, held.txn, intent)
            continue
        if intent is None and not held.expired(store.clock()):
            return False
        if intent is None and held.txn and _abort_or_finish(store, held.txn):
            continue
        if store.put_object(name, encode_lock(mine), etag=etag) is not None:
            return True  # taken over from a dead or aborted holder
    return False


def recover(store: S3Store) -> None:
    """On open: finish every committed intent; drop aborted ones older than a lease."""
    for name in store.list_objects(INTENT_PREFIX):
        txn_id = name[len(INTENT_PREFIX) :]
        intent = read_intent(store, txn_id)
        if intent is None:
            continue
        if intent.committed:
            if store.clock() >= intent.expires:
                finish_for_dead_writer(store, txn_id, intent)
            else:
                apply_writes(store, intent)  # its writer, alive elsewhere, cleans up
        elif store.clock() - intent.at > 2 * max(store.txn_lease_s, DEFAULT_LEASE_S):
            store.delete_objects([name])
