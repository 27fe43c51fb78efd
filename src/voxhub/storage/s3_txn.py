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
sharing a store must roughly agree (leases are wall-clock times, read from ``store.clock``).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from voxhub.errors import Conflict
from voxhub.storage.base import Txn
from voxhub.storage.s3_finish import (
    DEFAULT_LEASE_S,
    finish,
    lease,
    lock_one,
    recover,
    release,
    settle_locks,
)
from voxhub.storage.s3_intent import Intent, Write, encode_intent
from voxhub.storage.s3_names import intent_name, lock_name, name_of

__all__ = ["DEFAULT_LEASE_S", "LOCK_WAIT_S", "S3Txn", "recover", "run_transaction", "settle_locks"]

if TYPE_CHECKING:
    from voxhub.storage.s3_store import S3Store

T = TypeVar("T")
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


# -- committing ------------------------------------------------------------------------
def _commit(store: S3Store, txn: S3Txn) -> None:
    """Steps 1-4 of the module docstring; raises _RetryCommit to run ``fn`` again."""
    mine = lease(store)
    txn_id = mine.txn
    keys = sorted(txn.writes)  # read-only keys are validated, not locked (docstring)
    held: list[bytes] = []  # appended from pool threads (list.append is atomic)

    def lock(key: bytes) -> None:
        if lock_one(store, key, mine):
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
        if store.clock() >= mine.expires:  # others may already treat our locks as dead
            raise _RetryCommit(busy=True)
        intent = Intent("committed", store.clock(), writes, keys, mine.expires)
        record = encode_intent(intent)
        if store.put_object(intent_name(txn_id), record, etag=None) is None:
            raise _RetryCommit(busy=True)  # aborted by someone who found our lease over
    except Exception:
        release(store, [lock_name(k) for k in held], mine)
        raise
    # Committed. If applying fails the commit stands: the next listing, transaction or
    # open that meets it finishes it, so the caller is told it succeeded.
    with contextlib.suppress(Exception):
        finish(store, txn_id, intent, mine)


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
