"""VersionedKV: resolution through the store, tombstones, locks, unversioned data."""

from __future__ import annotations

import pytest

from voxhub.errors import InvalidRequest, VersionLocked
from voxhub.storage import KVStore
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.keys import MARK_DATA, MARK_TOMBSTONE, data_key
from voxhub.versioning.protocols import VersionedTxn, VersionedView


def setup(store: KVStore, versioned: bool = True) -> tuple[Catalog, str]:
    cat = Catalog(store)
    root = cat.create_repo().root
    cat.create_instance(root, "kv", "keyvalue", {}, versioned=versioned)
    return cat, root


def test_view_implements_the_protocol(store: KVStore) -> None:
    cat, root = setup(store)
    view: VersionedView = cat.view(root, "kv")
    assert view.writable


def test_reads_writes_and_scans(store: KVStore) -> None:
    cat, root = setup(store)
    view = cat.view(root, "kv")
    view.put_many([(b"b1", b"B"), (b"a1", b"A"), (b"c1", b"C")])
    assert view.get(b"a1") == b"A"
    assert view.get_many([b"c1", b"zz", b"a1"]) == [b"C", None, b"A"]
    assert list(view.scan(b"", None)) == [(b"a1", b"A"), (b"b1", b"B"), (b"c1", b"C")]
    assert list(view.scan(b"b", b"c1")) == [(b"b1", b"B")]
    assert list(view.scan(b"a1", None, keys_only=True)) == [
        (b"a1", None),
        (b"b1", None),
        (b"c1", None),
    ]
    view.delete_many([b"b1", b"nope"])
    assert view.get(b"b1") is None
    # no ancestor held b1: the key is gone, not tombstoned
    for mark in (MARK_DATA, MARK_TOMBSTONE):
        assert store.get(data_key(view.instance_id, b"b1", view.version_id, mark)) is None


def test_empty_values_are_refused_and_nothing_is_written(store: KVStore) -> None:
    cat, root = setup(store)
    view = cat.view(root, "kv")
    with pytest.raises(InvalidRequest, match="empty values are reserved for tombstones"):
        view.put_many([(b"a1", b"ok"), (b"b1", b"")])
    assert view.get(b"a1") is None


def test_children_inherit_and_tombstones_hide(store: KVStore) -> None:
    cat, root = setup(store)
    cat.view(root, "kv").put_many([(b"a1", b"old"), (b"b1", b"keep")])
    cat.commit(root)
    child = cat.newversion(root).uuid
    view = cat.view(child, "kv")
    assert view.get_many([b"a1", b"b1"]) == [b"old", b"keep"]
    view.delete_many([b"a1"])
    here = view.instance_id, b"a1", view.version_id
    assert store.get(data_key(*here, MARK_TOMBSTONE)) == b""  # a tombstone key, no data key
    assert store.get(data_key(*here, MARK_DATA)) is None
    assert view.get(b"a1") is None
    assert list(view.scan(b"", None)) == [(b"b1", b"keep")]
    view.put_many([(b"a1", b"new")])  # a put replaces the tombstone
    assert view.get(b"a1") == b"new"
    assert store.get(data_key(*here, MARK_TOMBSTONE)) is None
    assert cat.view(root, "kv").get(b"a1") == b"old"  # the committed root is unchanged


def test_depth_50_chain_reads_the_roots_value(store: KVStore) -> None:
    cat, root = setup(store)
    cat.view(root, "kv").put_many([(b"a1", b"root")])
    leaf = root
    for _ in range(49):
        cat.commit(leaf)
        leaf = cat.newversion(leaf).uuid
    assert len(cat.log(leaf)) == 50
    assert cat.view(leaf, "kv").get_many([b"a1"]) == [b"root"]
    assert Catalog(store).view(leaf, "kv").get(b"a1") == b"root"  # fresh caches too


def test_commit_by_another_catalog_blocks_the_next_write(store: KVStore) -> None:
    cat, root = setup(store)
    view = cat.view(root, "kv")
    Catalog(store).commit(root)  # another process, as far as ``cat`` knows
    assert not view.writable
    msg = f"cannot write instance 'kv' at node {root}"
    with pytest.raises(VersionLocked, match=msg):
        view.check_writable()
    with pytest.raises(VersionLocked, match=msg):
        view.put_many([(b"a1", b"x")])
    with pytest.raises(VersionLocked, match=msg):
        view.delete_many([b"a1"])
    with pytest.raises(VersionLocked, match=msg):
        view.transact(lambda txn: txn.put(b"a1", b"x"))
    assert view.get(b"a1") is None


def test_transact_reads_its_own_writes(store: KVStore) -> None:
    cat, root = setup(store)
    view = cat.view(root, "kv")
    view.put_many([(b"n1", b"1")])
    cat.commit(root)
    child = cat.view(cat.newversion(root).uuid, "kv")

    def bump(txn: VersionedTxn) -> bytes | None:
        old = txn.get(b"n1")
        assert old is not None
        txn.put(b"n1", str(int(old) + 1).encode())
        txn.delete(b"n1")
        assert txn.get(b"n1") is None
        txn.put(b"n2", b"x")
        assert list(txn.scan(b"", None)) == [(b"n2", b"x")]
        txn.put(b"n1", b"2")
        return txn.get_many([b"n1"])[0]

    assert child.transact(bump) == b"2"
    assert child.get_many([b"n1", b"n2"]) == [b"2", b"x"]

    def fail(txn: VersionedTxn) -> None:
        txn.put(b"n3", b"lost")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        child.transact(fail)
    assert child.get(b"n3") is None  # nothing of a failed transaction lands


def test_unversioned_instances_share_one_version_and_ignore_locks(store: KVStore) -> None:
    cat, root = setup(store, versioned=False)
    cat.commit(root)
    child = cat.newversion(root).uuid
    cat.commit(child)
    at_root, at_child = cat.view(root, "kv"), cat.view(child, "kv")
    assert at_child.writable
    at_child.put_many([(b"a1", b"shared")])  # committed node: allowed for unversioned data
    assert at_root.get(b"a1") == b"shared"
    at_root.delete_many([b"a1"])
    assert at_child.get(b"a1") is None
    assert cat.diff(root, child, "kv") == []


def test_written_here_lists_only_what_the_node_itself_stored(store: KVStore) -> None:
    cat, root = setup(store)
    cat.view(root, "kv").put_many([(b"m1", b"root"), (b"m2", b"root"), (b"z", b"outside")])
    cat.commit(root)
    left, right = cat.newversion(root).uuid, cat.branch(root, "side").uuid
    cat.view(left, "kv").put_many([(b"m3", b"left")])
    cat.view(left, "kv").delete_many([b"m2"])  # a tombstone is not a stored value
    cat.view(right, "kv").put_many([(b"m4", b"right")])
    assert cat.view(root, "kv").written_here(b"m", b"n") == [b"m1", b"m2"]
    assert cat.view(left, "kv").written_here(b"m", b"n") == [b"m3"]
    for node in (left, right):
        cat.commit(node)
    merged = cat.merge([left, right]).uuid
    # the merge node's write set names its sides' keys; it stored none of them itself
    assert cat.view(merged, "kv").written_here(b"m", b"n") == []
    cat.view(merged, "kv").put_many([(b"m5", b"merged")])
    assert cat.view(merged, "kv").written_here(b"m", b"n") == [b"m5"]


def test_written_here_of_an_unversioned_instance_is_everything_visible(store: KVStore) -> None:
    cat, root = setup(store, versioned=False)
    cat.view(root, "kv").put_many([(b"m1", b"A")])
    cat.commit(root)
    child = cat.newversion(root).uuid
    assert cat.view(child, "kv").node_uuid == child
    assert cat.view(child, "kv").written_here(b"m", b"n") == [b"m1"]
