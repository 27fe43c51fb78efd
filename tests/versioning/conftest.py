"""Backends the versioning tests run on: MemoryStore and LmdbStore (fresh temp dir each)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

import pytest

pytest.register_assert_rewrite("voxhub.testing.versioned")

from voxhub.storage import KVStore, MemoryStore  # noqa: E402
from voxhub.storage.lmdb_store import LmdbStore  # noqa: E402

#: where the LMDB stores of these tests live: tmpfs when there is one. They check
#: versioning, not durability (tests/storage/test_lmdb_durability.py does), and on a busy
#: disk each synced commit cost more than the rest of a state-machine step.
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def make_lmdb() -> LmdbStore:
    return LmdbStore(tempfile.mkdtemp(prefix="voxhub-versioning-", dir=SCRATCH), map_size=1 << 20)


def destroy(store: KVStore) -> None:
    store.close()
    if isinstance(store, LmdbStore):
        shutil.rmtree(store.path, ignore_errors=True)


BACKENDS: dict[str, Callable[[], KVStore]] = {"memory": MemoryStore, "lmdb": make_lmdb}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest) -> Iterator[KVStore]:
    s = BACKENDS[request.param]()
    yield s
    destroy(s)
