"""All-or-nothing ``transact`` on :class:`~voxhub.storage.s3_store.S3Store`.

S3 has no multi-object transaction, so one is built from conditional single-object
writes: per-key **locks**, one **intent** record per commit whose creation is the commit
point, and **roll-forward** by whoever meets a committed intent (records: s3_intent).

``fn`` runs against an :class:`S3Txn` that reads through to the bucket, remembers the
ETag (or absence) of every key it read and buffers its writes. Committing then:

1. **lock** every key written: create ``<hex key>~`` with ``If-None-Match: *``,
   holding a lease of ``store.txn_lease_s``. A lock already there is judged by its
   holder's intent: *committed* — apply its writes (helping), and if its writer's lease
   is over, finish it and take the lock; *aborted*, or no intent and the lease is over —
   the holder is dead or too slow: mark it aborted (create its intent as ``aborted``, so
   it can never commit) and take the lock over by a conditional overwrite; otherwise the
   holder is alive: let go of every lock, back off and run ``fn`` again.
2. **validate**: every key ``fn`` read still has the ETag it read (writes of other
   transactions to locked keys are excluded; plain ``put``/``compare_and_swap`` are
   not). Keys only read are checked here but not locked, so that transactions which
   merely *read* a shared key (an instance's extents records, a label's index) do not
   serialise on it: the isolation is snapshot-like, and two transactions that each read
   what the other writes may both commit (write skew). voxhub's writers read and write
   the same keys, and the records they only read grow monotonically.
3. **commit point**: if the lease still runs, create the intent ``~txn/<id>`` with
   ``If-None-Match: *`` holding the whole write set (values and the ETags the keys have
   now) and the lease end. Before it exists nothing was written but locks; after, the
   commit *is* made.
4. **apply**: write each key conditionally on its recorded ETag (a failed condition
   means someone already applied it), delete the intent, then the locks.

Who deletes a lock: only its holder, and only while its lease surely runs. S3 has no
conditional delete, so a lock deleted by anyone else might already be a *new* holder's;
everyone else first takes the lock over (conditional overwrite) and deletes it as its
new holder. Applying a committed intent's writes, on the other hand, is safe for anyone
at any time (conditional on the pre-commit ETags), so readers and writers that meet a
committed intent apply it at once and leave the clean-up to its writer while it lives.

Why readers never see half a commit: keys change only in step 4, while every key's lock
still exists and its name lists right after the key. A listing (``scan``, ``scan_many``,
also ``keys_only``) that meets locks of a committed intent applies it and lists again.
A listing that reads a key before step 4 and another after it is caught by
``scan_many``, which checks that each value's ETag is the listed one and else reads again.
Crash leftovers: a committed intent is finished by the next listing that meets its locks,
by the next transaction that meets them, and on the next open of the store (the first
request lists ``~txn/``). A crash before step 3 leaves only locks; readers ignore them,
and once their lease is over any reader or writer removes them.

Failure of any kind before step 3 (an exception, a failed request, the process killed)
leaves nothing applied; at or after step 3 the commit is complete for every reader even
if its writer died (``transact`` then returns normally: the commit is durable). No lock
is global: transactions on disjoint keys share no object, and a lock outlives its
holder's lease only until someone needs the key.

Limits, by design: point reads (``get``/``get_many``) do not look for locks, so during
the milliseconds of a *live* commit's step 4 they may see part of it (crashed commits are
finished at open); keys written by ``transact`` must not also be written by plain
``put``/``compare_and_swap`` at the same time; a key range that ends inside a locked
key's extensions (``[k, k + b"\\x00")``) does not list ``k``'s lock; deletes in step 4
check and then delete (S3 has no conditional delete); a helper stalled for longer than a
whole later transaction between reading an intent and applying it could re-apply a write
whose key meanwhile went back to the very same bytes (ETags are content hashes); phantoms
(keys appearing in a range ``fn`` scanned) are not detected. Clocks of the processes
sharing a store must roughly agree (leases are wall-clock times).
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from voxhub.errors import Conflict
from voxhub.storage.base import Txn
from voxhub.storage.s3_intent import (
    Intent,
    Lock,
    Write,
    aborted_intent,
    decode_intent,
    decode_lock,
    encode_intent,
    encode_lock,
)
from voxhub.storage.s3_names import INTENT_PREFIX, intent_name, lock_name, name_of

if TYPE_CHECKING:
    from voxhub.storage.s3_store import S3Store

T = TypeVar("T")
DEFAULT_LEASE_S = 30.0
#: how long a transaction keeps retrying behind live locks before Conflict.
LOCK_WAIT_S = 60.0
#: how many times ``fn`` runs when reads keep changing under it.
MAX_ATTEMPTS = 20


class _RetryCommit(Exception):
    """A read changed or a key is busy: let go of the locks and run ``fn`` again."""

    def __init__(self, busy: bool = False) -> None:
        self.busy = busy


class S3Txn:
    """Reads through to the bucket (recording ETags); buffers writes."""

    def __init__(self, store: S3Store) -> None:
        self._store = store
        self.read_etags: dict[bytes, str | None] = {}
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.get_many([key])[0]

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        todo = [k for k in dict.fromkeys(keys) if k not in self.writes]
        fetched = dict(
            zip(todo, self._store._parallel(self._store.get_with_etag, todo), strict=True)
        )
        for key, (_, etag) in fetched.items():
            self.read_etags.setdefault(key, etag)  # the first read is what commit checks
        return [self.writes[k] if k in self.writes else fetched[k][0] for k in keys]

    def put(self, key: bytes, value: bytes) -> None:
        name_of(key)  # refuse a bad key now, not at commit
        self.writes[key] = bytes(value)

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def scan(
        self, start: bytes, end: bytes | None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        listed = [k for k, _ in self._store.list_etags(start, end)]
        mine = [k for k in self.writes if k >= start and (end is None or k < end)]
        keys = sorted(set(listed) | set(mine))
        for key, value in zip(keys, self.get_many(keys), strict=True):
            if value is not None:
                yield key, (None if keys_only else value)


# -- finishing and judging other transactions ------------------------------------------
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


def _lease(store: S3Store) -> Lock:
    return Lock(uuid.uuid4().hex, time.time() + store.txn_lease_s)


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


def _release(store: S3Store, names: Sequence[str], mine: Lock) -> None:
    """Delete our locks, while our lease surely still runs; else leave them to expire."""
    if names and time.time() < mine.expires - store.txn_lease_s / 4:
        store.delete_objects(names)


def _finish(store: S3Store, txn_id: str, intent: Intent, mine: Lock) -> None:
    """Apply ``intent`` and clean it up, holding its locks as ``mine``."""
    apply_writes(store, intent)
    store.delete_objects([intent_name(txn_id)])  # first: a lock left behind is harmless
    _release(store, [lock_name(k) for k in intent.locked], mine)


def finish_for_dead_writer(store: S3Store, txn_id: str, intent: Intent) -> None:
    """Finish a committed intent whose writer's lease is over (it died or stalled)."""
    mine = _lease(store)
    taken = _take_over(store, [lock_name(k) for k in intent.locked], txn_id, mine)
    apply_writes(store, intent)
    store.delete_objects([intent_name(txn_id)])
    _release(store, taken, mine)


def _abort_or_finish(store: S3Store, txn_id: str) -> bool:
    """Make sure ``txn_id`` (whose lease is over) never commits; finish it if it has.

    Returns whether it had committed (and is now finished).
    """
    if store.put_object(intent_name(txn_id), aborted_intent(), etag=None) is not None:
        return False  # we wrote "aborted": its own commit will now fail
    intent = read_intent(store, txn_id)
    if intent is not None and intent.committed:
        finish_for_dead_writer(store, txn_id, intent)
        return True
    return False


def settle_locks(store: S3Store, keys: Sequence[bytes]) -> bool:
    """Bring the keys a reader's listing found locked to a whole state.

    A committed holder's writes are applied (a live writer then cleans up itself; a
    dead one's intent and locks are cleaned up here); locks of dead holders that never
    committed are removed. Returns whether anything changed (the caller lists again).
    """
    names = [lock_name(k) for k in dict.fromkeys(keys)]
    bodies = store._parallel(store.get_object, names)
    holders: dict[str, list[str]] = {}
    expired: dict[str, bool] = {}
    for name, (body, _) in zip(names, bodies, strict=True):
        if body is not None:
            lock = decode_lock(body) or Lock("", 0.0)
            holders.setdefault(lock.txn, []).append(name)
            expired[lock.txn] = expired.get(lock.txn, True) and lock.expired()
    changed = False
    for txn_id, locks in holders.items():
        intent = read_intent(store, txn_id) if txn_id else None
        if intent is not None and intent.committed:
            if time.time() >= intent.expires:
                finish_for_dead_writer(store, txn_id, intent)
                changed = True
            else:
                changed = apply_writes(store, intent) or changed
            continue
        if intent is None and not expired[txn_id]:
            continue  # a live writer before its commit point: its keys are unchanged
        if intent is None and txn_id and _abort_or_finish(store, txn_id):
            changed = True
            continue
        mine = _lease(store)
        _release(store, _take_over(store, locks, txn_id, mine), mine)
        changed = True
    return changed


# -- committing ------------------------------------------------------------------------
def _lock_one(store: S3Store, key: bytes, mine: Lock) -> bool:
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
            if time.time() < intent.expires:
                apply_writes(store, intent)  # help; the live writer releases the lock
                return False
            finish_for_dead_writer(store, held.txn, intent)
            continue
        if intent is None and not held.expired():
            return False
        if intent is None and held.txn and _abort_or_finish(store, held.txn):
            continue
        if store.put_object(name, encode_lock(mine), etag=etag) is not None:
            return True  # taken over from a dead or aborted holder
    return False


def _commit(store: S3Store, txn: S3Txn) -> None:
    """Steps 1-4 of the module docstring; raises _RetryCommit to run ``fn`` again."""
    mine = _lease(store)
    txn_id = mine.txn
    keys = sorted(txn.writes)  # read-only keys are validated, not locked (docstring)
    held: list[bytes] = []  # appended from pool threads (list.append is atomic)

    def lock(key: bytes) -> None:
        if _lock_one(store, key, mine):
            held.append(key)

    try:
        store._parallel(lock, keys)
        if len(held) < len(keys):
            raise _RetryCommit(busy=True)
        checked = sorted(set(keys) | set(txn.read_etags))
        now = dict(zip(checked, store._parallel(store.etag_of, checked), strict=True))
        if any(now[k] != etag for k, etag in txn.read_etags.items()):
            raise _RetryCommit
        writes = [Write(k, now[k], v) for k, v in txn.writes.items()]
        if time.time() >= mine.expires:  # others may already treat our locks as dead
            raise _RetryCommit(busy=True)
        intent = Intent("committed", time.time(), writes, keys, mine.expires)
        record = encode_intent(intent)
        if store.put_object(intent_name(txn_id), record, etag=None) is None:
            raise _RetryCommit(busy=True)  # aborted by someone who found our lease over
    except Exception:
        _release(store, [lock_name(k) for k in held], mine)
        raise
    # Committed. If applying fails the commit stands: the next listing, transaction or
    # open that meets it finishes it, so the caller is told it succeeded.
    with contextlib.suppress(Exception):
        _finish(store, txn_id, intent, mine)


def run_transaction(store: S3Store, fn: Callable[[Txn], T]) -> T:
    """Run ``fn`` in an :class:`S3Txn` and commit it all or nothing, retrying on conflicts."""
    deadline, pause, conflicts = time.monotonic() + LOCK_WAIT_S, 0.002, 0
    while True:
        txn = S3Txn(store)
        result = fn(txn)
        if not txn.writes:
            return result
        try:
            _commit(store, txn)
            return result
        except _RetryCommit as retry:
            conflicts += 0 if retry.busy else 1
            if conflicts >= MAX_ATTEMPTS:
                raise Conflict(
                    f"transaction on {store.describe()} kept conflicting ({MAX_ATTEMPTS} tries)"
                ) from None
            if time.monotonic() > deadline:
                raise Conflict(
                    f"keys of a transaction on {store.describe()} stayed locked by another "
                    f"writer for {LOCK_WAIT_S:.0f} s"
                ) from None
        time.sleep(pause * random.uniform(0.5, 1.5))  # back off while another commits
        pause = min(pause * 2, 0.05)


def recover(store: S3Store) -> None:
    """On open: finish every committed intent; drop aborted ones older than a lease."""
    for name in store.list_objects(INTENT_PREFIX):
        txn_id = name[len(INTENT_PREFIX) :]
        intent = read_intent(store, txn_id)
        if intent is None:
            continue
        if intent.committed:
            if time.time() >= intent.expires:
                finish_for_dead_writer(store, txn_id, intent)
            else:
                apply_writes(store, intent)  # its writer, alive elsewhere, cleans up
        elif time.time() - intent.at > 2 * max(store.txn_lease_s, DEFAULT_LEASE_S):
            store.delete_objects([name])
