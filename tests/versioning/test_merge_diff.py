"""Merge conflicts detected at request time, priority resolution, and diffs."""

from __future__ import annotations

import pytest

from voxhub.errors import InvalidRequest, MergeConflict
from voxhub.storage import KVStore
from voxhub.versioning.catalog import Catalog, InstanceInfo


def diverged(store: KVStore) -> tuple[Catalog, str, str, str]:
    """root --newversion--> a (master), root --branch--> b; both committed."""
    cat = Catalog(store)
    root = cat.create_repo().root
    cat.create_instance(root, "img", "uint8blk", {})
    cat.create_instance(root, "flat", "keyvalue", {}, versioned=False)
    cat.view(root, "img").put_many([(b"k0", b"base"), (b"k3", b"base"), (b"k4", b"base")])
    cat.commit(root)
    a = cat.newversion(root).uuid
    b = cat.branch(root, "b").uuid
    cat.view(a, "img").put_many([(b"k1", b"A"), (b"k2", b"same"), (b"k5", b"onlyA")])
    cat.view(a, "img").delete_many([b"k4"])
    cat.view(b, "img").put_many([(b"k1", b"B"), (b"k2", b"same"), (b"k4", b"B")])
    cat.view(b, "img").delete_many([b"k3"])
    cat.view(b, "flat").put_many([(b"k1", b"ignored by merges")])
    cat.commit(a)
    cat.commit(b)
    return cat, root, a, b


def test_conflicts_are_reported_and_nothing_is_created(store: KVStore) -> None:
    cat, root, a, b = diverged(store)
    nodes_before = len(cat.nodes(root))
    with pytest.raises(MergeConflict, match="'img': 2 keys") as caught:
        cat.merge([a, b])
    # k1 differs on both sides; k4 deleted on one side, changed on the other.
    # k2 (same bytes) and k3 / k5 (changed on one side only) are no conflicts.
    assert caught.value.report == {"img": [b"k1".hex(), b"k4".hex()]}
    assert len(cat.nodes(root)) == nodes_before
    assert cat.node(a).children == ()

    def describe(inst: InstanceInfo, tkey: bytes) -> str:
        return f"{inst.name}:{tkey.decode()}"

    with pytest.raises(MergeConflict) as caught:
        cat.merge([b, a], describe=describe)
    assert caught.value.report == {"img": ["img:k1", "img:k4"]}


def test_resolve_lets_the_first_parent_win(store: KVStore) -> None:
    cat, _root, a, b = diverged(store)
    keys = [b"k0", b"k1", b"k2", b"k3", b"k4", b"k5"]
    ab = cat.merge([a, b], resolve=True, note="a wins")
    assert (ab.branch, ab.parents, ab.locked, ab.note) == ("master", (a, b), False, "a wins")
    assert cat.view(ab.uuid, "img").get_many(keys) == [b"base", b"A", b"same", None, None, b"onlyA"]
    ba = cat.merge([b, a], resolve=True)
    assert cat.view(ba.uuid, "img").get_many(keys) == [b"base", b"B", b"same", None, b"B", b"onlyA"]
    assert cat.node(a).children == (ab.uuid, ba.uuid)
    assert cat.node(":master").uuid == ab.uuid  # the earliest master child extends master
    assert cat.diff(ab.uuid, ba.uuid, "img") == [b"k1", b"k4"]
    # the merge child is an ordinary open node
    cat.view(ab.uuid, "img").put_many([(b"k1", b"fixed")])
    assert cat.view(ab.uuid, "img").get(b"k1") == b"fixed"


def test_conflict_free_merge_combines_both_sides(store: KVStore) -> None:
    cat = Catalog(store)
    root = cat.create_repo().root
    cat.create_instance(root, "img", "uint8blk", {})
    cat.view(root, "img").put_many([(b"k0", b"base"), (b"k1", b"base")])
    cat.commit(root)
    a = cat.newversion(root).uuid
    b = cat.branch(root, "b").uuid
    cat.view(a, "img").put_many([(b"k0", b"A")])
    cat.view(b, "img").delete_many([b"k1"])
    cat.commit(a)
    cat.commit(b)
    child = cat.merge([a, b]).uuid
    assert cat.view(child, "img").get_many([b"k0", b"k1"]) == [b"A", None]
    assert list(cat.view(child, "img").scan(b"", None)) == [(b"k0", b"A")]


def test_many_conflicts_are_capped_in_the_report(store: KVStore) -> None:
    cat = Catalog(store)
    root = cat.create_repo().root
    cat.create_instance(root, "img", "uint8blk", {})
    cat.commit(root)
    a = cat.newversion(root).uuid
    b = cat.branch(root, "b").uuid
    keys = [f"k{i:03d}".encode() for i in range(150)]
    cat.view(a, "img").put_many([(k, b"A") for k in keys])
    cat.view(b, "img").put_many([(k, b"B") for k in keys])
    cat.commit(a)
    cat.commit(b)
    with pytest.raises(MergeConflict, match="'img': 150 keys; at most 100 listed") as caught:
        cat.merge([a, b])
    assert caught.value.report["img"] == [k.hex() for k in keys[:100]]


def test_merge_refusals(store: KVStore) -> None:
    cat, _root, a, _b = diverged(store)
    c = cat.newversion(a).uuid
    with pytest.raises(InvalidRequest, match="commit it first"):
        cat.merge([a, c], resolve=True)
    with pytest.raises(InvalidRequest, match="at least 2 parents"):
        cat.merge([a])
    with pytest.raises(InvalidRequest, match="distinct"):
        cat.merge([a, a[:8]])
    other = cat.create_repo().root
    cat.commit(other)
    with pytest.raises(InvalidRequest, match="different repos"):
        cat.merge([a, other])


def test_diff(store: KVStore) -> None:
    cat, root, a, b = diverged(store)
    assert cat.diff(a, b, "img") == [b"k1", b"k3", b"k4", b"k5"]  # k2: same bytes
    assert cat.diff(root, a, "img") == [b"k1", b"k2", b"k4", b"k5"]
    assert cat.diff(a, a, "img") == []
    assert cat.diff(a, b, "flat") == []  # unversioned: one shared version
