"""``VersionedTxn.joined``: another instance at the same node inside one transaction.

Writes through a joined view commit or abort with the transaction's own writes, reads
through it see them, and it is refused across nodes or stores."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxhub.errors import InvalidRequest, VersionLocked
from voxhub.storage import KVStore, MemoryStore
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.protocols import VersionedTxn


def setup(store: KVStore, b_versioned: bool = True) -> tuple[Catalog, str]:
    cat = Catalog(store)
    root = cat.create_repo().root
    cat.create_instance(root, "a", "keyvalue", {})
    cat.create_instance(root, "b", "keyvalue", {}, versioned=b_versioned)
    return cat, root


class Abort(Exception):
    pass


writes = st.lists(
    st.tuples(
        st.sampled_from("ab"),
        st.sampled_from([b"k1", b"k2", b"k3"]),
        st.binary(min_size=1, max_size=4),
    ),
    max_size=8,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=writes, second=writes, abort=st.booleans())
def test_joined_writes_commit_or_abort_together(
    first: list[tuple[str, bytes, bytes]], second: list[tuple[str, bytes, bytes]], abort: bool
) -> None:
    cat, root = setup(MemoryStore())
    views = {n: cat.view(root, n) for n in "ab"}
    expected: dict[str, dict[bytes, bytes]] = {"a": {}, "b": {}}
    for name, key, value in first:
        views[name].put_many([(key, value)])
        expected[name][key] = value
    staged = {n: dict(v) for n, v in expected.items()}

    def run(txn: VersionedTxn) -> None:
        txns = {"a": txn, "b": txn.joined(views["b"])}
        for name, key, value in second:
            txns[name].put(key, value)
            staged[name][key] = value
            # each side reads its own and the other's writes so far
            for n in "ab":
                for k, v in staged[n].items():
                    assert txns[n].get(k) == v
        if abort:
            raise Abort

    if abort:
        with pytest.raises(Abort):
            views["a"].transact(run)
    else:
        views["a"].transact(run)
        expected = staged
    for name in "ab":
        assert dict(views[name].scan(b"", None)) == expected[name]


def test_joined_is_refused_across_nodes_and_stores(store: KVStore) -> None:
    cat, root = setup(store)
    cat.commit(root)
    child = cat.newversion(root).uuid
    other_cat, other_root = setup(MemoryStore())
    a = cat.view(child, "a")
    with pytest.raises(InvalidRequest, match="at node"):
        a.transact(lambda txn: txn.joined(cat.view(root, "b")))
    with pytest.raises(InvalidRequest, match="another store"):
        a.transact(lambda txn: txn.joined(other_cat.view(other_root, "b")))


def test_joined_refuses_a_committed_follower_of_an_unversioned_instance(store: KVStore) -> None:
    cat = Catalog(store)
    root = cat.create_repo().root
    cat.create_instance(root, "a", "keyvalue", {}, versioned=False)
    cat.create_instance(root, "b", "keyvalue", {})
    cat.commit(root)
    a = cat.view(root, "a")  # unversioned: writable on a committed node
    with pytest.raises(VersionLocked, match="'b'"):
        a.transact(lambda txn: txn.joined(cat.view(root, "b")).put(b"k", b"v"))
    assert a.get(b"k") is None


def test_an_unversioned_follower_joins_at_its_root_version(store: KVStore) -> None:
    cat, root = setup(store, b_versioned=False)
    cat.commit(root)
    child = cat.newversion(root).uuid

    def run(txn: VersionedTxn) -> None:
        txn.put(b"x", b"1")
        txn.joined(cat.view(child, "b")).put(b"y", b"2")

    cat.view(child, "a").transact(run)
    assert cat.view(root, "b").get(b"y") == b"2"  # unversioned: one value for all nodes
    assert cat.view(root, "a").get(b"x") is None
    assert cat.view(child, "a").get(b"x") == b"1"
