"""Per-repo indexes: lookups read the same number of keys at 300 nodes as at 3, and
repo aliases are unique (issue 8 §1 and §3).

Costs are asserted as counts of keys read through a counting store, never as timings.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from voxhub.client import EmbeddedHub
from voxhub.errors import Conflict
from voxhub.server import create_app
from voxhub.storage import KVStore, MemoryStore
from voxhub.storage.base import Txn
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.dag import CHUNK_IDS


class CountingStore(KVStore):
    """A memory store that counts the keys its reads touch."""

    supports_transactions = True

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.reads = 0

    def get(self, key: bytes) -> bytes | None:
        self.reads += 1
        return self.inner.get(key)

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        self.reads += len(keys)
        return self.inner.get_many(keys)

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        for pair in self.inner.scan(start, end, keys_only=keys_only):
            self.reads += 1
            yield pair

    def put(self, key: bytes, value: bytes) -> None:
        self.inner.put(key, value)

    def delete(self, key: bytes) -> None:
        self.inner.delete(key)

    def compare_and_swap(self, key: bytes, expected: bytes | None, new: bytes | None) -> bool:
        return self.inner.compare_and_swap(key, expected, new)

    def transact(self, fn: Callable[[Txn], Any]) -> Any:
        return self.inner.transact(fn)

    def cost(self, fn: Callable[[], object]) -> int:
        """Keys read by ``fn()``."""
        self.reads = 0
        fn()
        return self.reads


def grow(depth: int) -> tuple[CountingStore, str]:
    """A repo with a master chain of ``depth`` nodes, a branch and a value at the root."""
    store = CountingStore()
    cat = Catalog(store)
    root = cat.create_repo("r").root
    cat.create_instance(root, "kv", "test", {})
    cat.view(root, "kv").put_many([(b"k", b"v")])
    leaf = root
    for _ in range(depth - 1):
        cat.commit(leaf)
        leaf = cat.newversion(leaf).uuid
    cat.branch(root, "other")
    return store, root


@pytest.fixture(scope="module")
def small() -> tuple[CountingStore, str]:
    return grow(3)


@pytest.fixture(scope="module")
def big() -> tuple[CountingStore, str]:
    return grow(300)


LOOKUPS: dict[str, Callable[[Catalog, str], object]] = {
    "open": lambda cat, root: Catalog(cat.store),
    "uuid:master": lambda cat, root: cat.node(f"{root}:master"),
    ":master": lambda cat, root: cat.node(":master"),
    "branch leaf": lambda cat, root: cat.node(f"{root}:other"),
    "alias": lambda cat, root: cat.repo_by_alias("r"),
    "node count": lambda cat, root: cat.node_count(root),
    "repo": lambda cat, root: cat.repo(root),
}


@pytest.mark.parametrize("name", sorted(LOOKUPS))
def test_lookups_read_as_many_keys_at_300_nodes_as_at_3(
    name: str, small: tuple[CountingStore, str], big: tuple[CountingStore, str]
) -> None:
    costs = []
    for store, root in (small, big):
        cat = Catalog(store)  # a fresh process: nothing cached
        costs.append(store.cost(partial(LOOKUPS[name], cat, root)))
    assert costs[0] == costs[1], costs


def read_root_value(cat: Catalog, leaf: str) -> None:
    assert cat.view(leaf, "kv").get(b"k") == b"v"


def test_a_deep_read_loads_one_chunk_per_64_ancestors(
    small: tuple[CountingStore, str], big: tuple[CountingStore, str]
) -> None:
    costs = []
    for store, root in (small, big):
        cat = Catalog(store)
        leaf = cat.node(f"{root}:master").uuid
        view = cat.view(leaf, "kv")  # loads the leaf's ancestry
        costs.append(
            store.cost(partial(cat.view, leaf, "kv")) + store.cost(partial(view.get, b"k"))
        )
        assert view.get(b"k") == b"v"
    assert CHUNK_IDS >= 64
    assert costs[1] - costs[0] <= 300 // CHUNK_IDS + 1, costs


def test_a_repo_listing_reads_only_its_own_nodes(big: tuple[CountingStore, str]) -> None:
    store, _ = big
    cat = Catalog(store)
    other = cat.create_repo("small-one").root
    cat.commit(other)
    cat.newversion(other)
    assert [n.uuid for n in cat.nodes(other)] == [other, cat.node(f"{other}:master").uuid]
    assert store.cost(lambda: cat.nodes(other)) <= 3 * 2 + 4  # index + records + repo
    assert cat.node_count(other) == 2


def test_master_after_a_merge_follows_the_leaf() -> None:
    cat = Catalog(MemoryStore())
    root = cat.create_repo().root
    cat.commit(root)
    left = cat.newversion(root).uuid
    side = cat.branch(root, "side").uuid
    cat.commit(left)
    cat.commit(side)
    merged = cat.merge([side, left]).uuid  # first parent is not on master
    assert cat.node(f"{root}:master").uuid == merged
    assert cat.branch_versions(root, "master") == [merged, left, root]
    assert cat.node(f"{root}:master~1").uuid == left
    assert cat.node(f"{root}:side").uuid == side
    assert cat.branch_versions(root, "side") == [side, root]


def test_aliases_are_unique() -> None:
    cat = Catalog(MemoryStore())
    first = cat.create_repo("em").root
    with pytest.raises(Conflict, match="'em' is already used"):
        cat.create_repo("em")
    second = cat.create_repo("seg").root
    with pytest.raises(Conflict, match="'em' is already used"):
        cat.update_repo(second, alias="em")
    assert cat.repo(second).alias == "seg"  # the refused rename changed nothing
    cat.update_repo(first, alias="em2")  # a rename frees the old alias
    cat.update_repo(second, alias="em")
    found = cat.repo_by_alias("em")
    assert found is not None
    assert found.root == second
    assert cat.repo_by_alias("seg") is None
    assert cat.repo_by_alias("em2") is not None
    cat.update_repo(second, alias="em", description="same alias again")  # no conflict
    assert len(cat.repos()) == 2


def test_a_duplicate_alias_is_409_over_http() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)  # as tests/server do
        from starlette.testclient import TestClient

    with TestClient(create_app(EmbeddedHub.open("memory://"))) as client:
        assert client.post("/api/repos", json={"alias": "dup"}).status_code == 200
        answer = client.post("/api/repos", json={"alias": "dup"})
        assert answer.status_code == 409
        assert "dup" in answer.text
