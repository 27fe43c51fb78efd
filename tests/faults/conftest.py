"""Backends the fault tests run on: LMDB (temp dir) and S3 on the session's SeaweedFS.

A :class:`Backend` makes a fresh store and *reopens* one — what a restarted process
does after a crash: LMDB's environment is simply used again (an aborted LMDB transaction
leaves nothing), S3 gets a new :class:`S3Store` on the same prefix, whose first request
finishes what the dead one committed. Leases are short so that locks a killed S3 writer
left behind stop blocking within a fraction of a second.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

pytest.register_assert_rewrite("voxhub.testing.versioned")

from voxhub.storage import KVStore  # noqa: E402
from voxhub.storage.lmdb_store import LmdbStore  # noqa: E402
from voxhub.storage.s3_store import S3Store  # noqa: E402
from voxhub.testing.faults import FaultyStore  # noqa: E402
from voxhub.testing.seaweed import SeaweedServer  # noqa: E402

LEASE_S = 0.5


@dataclass
class Backend:
    name: str
    make: Callable[[], KVStore]
    reopen: Callable[[KVStore], KVStore]

    def faulty(self) -> FaultyStore:
        return FaultyStore(self.make())

    def restart(self, dead: FaultyStore) -> FaultyStore:
        """A fresh wrapper over the same data, as after a process restart."""
        return FaultyStore(self.reopen(dead.inner))


def destroy(store: KVStore) -> None:
    inner = store.inner if isinstance(store, FaultyStore) else store
    inner.close()
    if isinstance(inner, LmdbStore):
        shutil.rmtree(inner.path, ignore_errors=True)


def lmdb_backend() -> Backend:
    def make() -> KVStore:
        return LmdbStore(tempfile.mkdtemp(prefix="voxhub-faults-"), map_size=1 << 20)

    return Backend("lmdb", make, lambda store: store)


def s3_backend(server: SeaweedServer) -> Backend:
    def open_prefix(prefix: str) -> S3Store:
        store = server.open_store(prefix)
        store.txn_lease_s = LEASE_S
        return store

    def reopen(store: KVStore) -> KVStore:
        assert isinstance(store, S3Store)
        return open_prefix(store.prefix)

    return Backend("s3", lambda: open_prefix(f"faults-{uuid.uuid4().hex}"), reopen)


@pytest.fixture(params=["lmdb", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "s3":
        yield s3_backend(request.getfixturevalue("seaweed"))
    else:
        yield lmdb_backend()
