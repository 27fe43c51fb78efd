"""Backends the fault tests run on: LMDB (temp dir) and S3 on the session's SeaweedFS.

A :class:`Backend` makes a fresh store and *reopens* one — what a restarted process
does after a crash: LMDB's environment is simply used again (an aborted LMDB transaction
leaves nothing), S3 gets a new :class:`S3Store` on the same prefix, whose first request
finishes what the dead one committed.

S3 locks keep the default 30 s lease, so a live writer slowed down by a loaded host never
loses its locks (a lease shorter than a commit takes under load made writers abort each
other until the 60 s lock wait ran out). Time passing is played, not waited for: the
restarted store's clock runs a lease ahead of the dead one's, and :meth:`Backend.lapse`
moves a store's clock past every lease taken so far (the locks a *failed* writer could not
release), so locks left behind are judged expired at once and deterministically.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

pytest.register_assert_rewrite("voxhub.testing.versioned")

from voxhub.storage import KVStore  # noqa: E402
from voxhub.storage.lmdb_store import LmdbStore  # noqa: E402
from voxhub.storage.s3_store import S3Store  # noqa: E402
from voxhub.testing.faults import FaultyStore  # noqa: E402
from voxhub.testing.seaweed import SeaweedServer  # noqa: E402


def _no_clock(store: KVStore) -> None:
    """LMDB has no leases: a dead writer's transaction is gone with its process."""


@dataclass
class Backend:
    name: str
    make: Callable[[], KVStore]
    reopen: Callable[[KVStore], KVStore]
    #: moves the store's lease clock past every lease taken so far
    lapse_leases: Callable[[KVStore], None] = field(default=_no_clock)

    def faulty(self) -> FaultyStore:
        return FaultyStore(self.make())

    def copy(self, items: list[tuple[bytes, bytes]]) -> FaultyStore:
        """A fresh store holding ``items`` (a template's ``scan``): a trial starts from a
        state built once instead of repeating the requests that built it."""
        store = self.faulty()
        store.inner.put_many(items)
        return store

    def restart(self, dead: FaultyStore) -> FaultyStore:
        """A fresh wrapper over the same data, as after a process restart (which comes
        after the dead process's leases ran out)."""
        return FaultyStore(self.reopen(dead.inner))

    def lapse(self, store: FaultyStore) -> None:
        """Let every lease taken so far on ``store`` run out, without waiting for it."""
        self.lapse_leases(store.inner)


def destroy(store: KVStore) -> None:
    inner = store.inner if isinstance(store, FaultyStore) else store
    inner.close()
    if isinstance(inner, LmdbStore):
        shutil.rmtree(inner.path, ignore_errors=True)


#: tmpfs when there is one: a fault here is an exception or a lost process, never a lost
#: page, so the trials need LMDB's transactions, not its fsyncs on a busy disk
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def lmdb_backend() -> Backend:
    def make() -> KVStore:
        return LmdbStore(tempfile.mkdtemp(prefix="voxhub-faults-", dir=SCRATCH), map_size=1 << 20)

    return Backend("lmdb", make, lambda store: store)


def s3_backend(server: SeaweedServer) -> Backend:
    def lapse(store: KVStore) -> None:
        assert isinstance(store, S3Store)
        clock, ahead = store.clock, store.txn_lease_s + 1.0
        store.clock = lambda: clock() + ahead

    def reopen(store: KVStore) -> KVStore:
        assert isinstance(store, S3Store)
        fresh = server.open_store(store.prefix)
        fresh.clock = store.clock
        lapse(fresh)
        return fresh

    return Backend("s3", lambda: server.open_store(f"faults-{uuid.uuid4().hex}"), reopen, lapse)


@pytest.fixture(params=["lmdb", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "s3":
        yield s3_backend(request.getfixturevalue("seaweed"))
    else:
        yield lmdb_backend()
