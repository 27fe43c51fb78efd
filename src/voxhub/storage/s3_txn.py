"""Optimistic ``transact`` for :class:`~voxhub.storage.s3_store.S3Store`.

``fn`` runs against an :class:`S3Txn` that reads through to the bucket, remembers the
ETag (or absence) of every key it read, and buffers its writes. Committing then:

1. takes the store's **commit lock**, an object created with ``If-None-Match: *``
   (holding a lease, so a crashed holder's lock is taken over after
   :data:`LOCK_LEASE_S` by a conditional overwrite);
2. checks that every key read but not written still has the ETag it was read with;
3. writes each buffered key with a condition matching what was read: create-if-absent
   for keys read as absent, ``If-Match`` for keys read with an ETag, unconditional for
   keys written blind; a delete checks the ETag first (S3 has no conditional delete);
4. releases the lock.

Commits of ``transact`` calls are thus serialised against each other, in all processes.
If a check fails (a plain ``put``/``compare_and_swap`` raced with the commit), the writes
already made are undone and ``fn`` is run again, up to :data:`MAX_ATTEMPTS` times, then
:class:`~voxhub.errors.Conflict` is raised. What is *not* guaranteed: all-or-nothing if
the process dies mid-commit, phantom protection for keys that appear in a scanned range,
and the lost-write window of the delete check.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

import obstore

from voxhub.errors import Conflict, StorageError
from voxhub.storage.base import Txn
from voxhub.storage.s3_names import NOT_FOUND, translated_errors

if TYPE_CHECKING:
    from voxhub.storage.s3_store import S3Store

T = TypeVar("T")
#: object (relative to the prefix) holding the commit lock; not hex, so never a key.
LOCK_NAME = "~commit-lock"
LOCK_LEASE_S = 30.0
LOCK_WAIT_S = 60.0
MAX_ATTEMPTS = 20


class _RetryCommit(Exception):
    """A commit condition failed; run ``fn`` again."""


class S3Txn:
    """Reads through to the bucket (recording ETags); buffers writes."""

    def __init__(self, store: S3Store) -> None:
        self._store = store
        self.read_etags: dict[bytes, str | None] = {}
        self.read_values: dict[bytes, bytes | None] = {}
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.get_many([key])[0]

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        todo = [k for k in dict.fromkeys(keys) if k not in self.writes]
        fetched = dict(
            zip(todo, self._store._parallel(self._store.get_with_etag, todo), strict=True)
        )
        for key, (value, etag) in fetched.items():
            if key not in self.read_etags:  # the first read is what the commit checks
                self.read_etags[key] = etag
                self.read_values[key] = value
        return [self.writes[k] if k in self.writes else fetched[k][0] for k in keys]

    def put(self, key: bytes, value: bytes) -> None:
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


class _CommitLock:
    """The lease-holding lock object that serialises commits."""

    def __init__(self, store: S3Store) -> None:
        self._store = store
        self._etag: str | None = None

    def _body(self) -> bytes:
        return json.dumps(
            {"owner": uuid.uuid4().hex, "expires": time.time() + LOCK_LEASE_S}
        ).encode()

    def __enter__(self) -> None:
        objects, deadline, pause = self._store.objects, time.monotonic() + LOCK_WAIT_S, 0.002
        with translated_errors(self._store.describe()):
            while True:
                try:
                    self._etag = obstore.put(objects, LOCK_NAME, self._body(), mode="create")[
                        "e_tag"
                    ]
                    return
                except obstore.exceptions.AlreadyExistsError:
                    if self._take_over_expired():
                        return
                if time.monotonic() > deadline:
                    raise Conflict(
                        f"commit lock of {self._store.describe()} busy for {LOCK_WAIT_S:.0f} s"
                    )
                time.sleep(pause * random.uniform(0.5, 1.5))  # back off while another commits
                pause = min(pause * 2, 0.05)

    def _take_over_expired(self) -> bool:
        try:
            held = obstore.get(self._store.objects, LOCK_NAME)
            expires = float(json.loads(bytes(held.bytes()))["expires"])
        except NOT_FOUND:
            return False  # released meanwhile: try to create it again
        if expires > time.time():
            return False
        try:
            mode: obstore.PutMode = {"e_tag": held.meta["e_tag"]}
            self._etag = obstore.put(self._store.objects, LOCK_NAME, self._body(), mode=mode)[
                "e_tag"
            ]
            return True
        except obstore.exceptions.PreconditionError:
            return False

    def __exit__(self, *exc: object) -> None:
        with translated_errors(self._store.describe()):
            try:
                still_ours = obstore.head(self._store.objects, LOCK_NAME)["e_tag"] == self._etag
            except NOT_FOUND:
                still_ours = False
            if still_ours:
                obstore.delete(self._store.objects, LOCK_NAME)


def _commit(store: S3Store, txn: S3Txn) -> None:
    """Apply ``txn``'s writes under the commit lock, or undo them and raise _RetryCommit."""
    unwritten = [k for k in txn.read_etags if k not in txn.writes]
    current = store._parallel(store.etag_of, unwritten)
    if any(txn.read_etags[k] != e for k, e in zip(unwritten, current, strict=True)):
        raise _RetryCommit
    before = {k: (txn.read_values[k], txn.read_etags[k]) for k in txn.writes if k in txn.read_etags}
    blind = [k for k in txn.writes if k not in before]  # read now, so every write can be undone
    before.update(zip(blind, store._parallel(store.get_with_etag, blind), strict=True))
    done: list[tuple[bytes, str | None]] = []  # (key, new ETag or None if deleted)
    try:
        for key, value in txn.writes.items():
            expected = before[key][1]
            if value is None:
                if store.etag_of(key) != expected:
                    raise _RetryCommit
                if expected is not None:
                    store.delete(key)  # not conditional: S3 has no conditional delete
                    done.append((key, None))
                continue
            new_etag = store.put_conditional(key, value, expected)
            if new_etag is None:
                raise _RetryCommit
            done.append((key, new_etag))
    except _RetryCommit:
        _undo(store, before, done)
        raise


def _undo(
    store: S3Store,
    before: dict[bytes, tuple[bytes | None, str | None]],
    done: list[tuple[bytes, str | None]],
) -> None:
    """Put back what the applied writes replaced, newest first."""
    for key, new_etag in reversed(done):
        old_value = before[key][0]
        if old_value is None:
            restored = store.etag_of(key) == new_etag
            if restored:
                store.delete(key)
        else:
            restored = store.put_conditional(key, old_value, new_etag) is not None
        if not restored:
            raise StorageError(
                f"transaction on {store.describe()} partially applied: another writer changed "
                f"key {key.hex()} while its write was being undone"
            )


def run_optimistic(store: S3Store, fn: Callable[[Txn], T]) -> T:
    """Run ``fn`` in an :class:`S3Txn` and commit it, retrying on conflicts."""
    for _ in range(MAX_ATTEMPTS):
        txn = S3Txn(store)
        result = fn(txn)
        if not txn.writes:
            return result
        try:
            with _CommitLock(store):
                _commit(store, txn)
            return result
        except _RetryCommit:
            continue
    raise Conflict(f"transaction on {store.describe()} kept conflicting ({MAX_ATTEMPTS} tries)")
