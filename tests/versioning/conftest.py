"""Backends the versioning tests run on: MemoryStore and LmdbStore (fresh temp dir each)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator

import pytest

pytest.register_assert_rewrite("voxhub.testing.versioned")

from voxhub.storage import KVStore, MemoryStore  # noqa: E402
from voxhub.storage.lmdb_store import LmdbStore  # noqa: E402


def make_lmdb() -> LmdbStore:
    return LmdbStore(tempfile.mkdtemp(prefix="voxhub-versioning-"), map_size=1 << 20)


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
