"""Catalog: repos, nodes, refs, instances, persistence (on every backend)."""

from __future__ import annotations

import pytest

from voxhub.errors import (
    AmbiguousUUID,
    Conflict,
    InvalidRequest,
    NotFound,
    StorageError,
    VersionLocked,
)
from voxhub.storage import KVStore, MemoryStore
from voxhub.storage.lmdb_store import LmdbStore
from voxhub.versioning.catalog import Catalog

from .conftest import destroy


def chain(cat: Catalog, length: int, root: str | None = None) -> list[str]:
    """A master chain of ``length`` nodes (all but the last committed)."""
    uuids = [root or cat.create_repo("r").root]
    for _ in range(length - 1):
        cat.commit(uuids[-1])
        uuids.append(cat.newversion(uuids[-1]).uuid)
    return uuids


def test_create_repo_and_root(store: KVStore) -> None:
    cat = Catalog(store)
    repo = cat.create_repo("alias", "about", root="AB" * 16)
    assert repo.root == "ab" * 16
    assert (repo.alias, repo.description, repo.log, repo.properties) == ("alias", "about", (), {})
    root = cat.node(repo.root)
    assert (root.branch, root.locked, root.parents, root.version_id > 0) == (
        "master",
        False,
        (),
        True,
    )
    with pytest.raises(Conflict, match="exists"):
        cat.create_repo(root="ab" * 16)
    assert [r.root for r in cat.repos()] == [repo.root]


def test_everything_persists_for_a_new_catalog(store: KVStore) -> None:
    cat = Catalog(store)
    uuids = chain(cat, 3)
    cat.update_repo(uuids[0], alias="new", properties={"k": [1]})
    cat.append_repo_log(uuids[0], ["one", "two"])
    cat.set_note(uuids[2], "work")
    cat.append_node_log(uuids[2], ["edited"])
    feature = cat.branch(uuids[1], "feature", note="f").uuid
    cat.create_instance(uuids[0], "img", "uint8blk", {"block": [64, 64, 64]})
    cat.view(uuids[2], "img").put_many([(b"k", b"v")])

    other = Catalog(store)
    repo = other.repo(feature)
    assert (repo.alias, repo.properties, repo.log) == ("new", {"k": [1]}, ("one", "two"))
    leaf = other.node(uuids[2])
    assert (leaf.note, leaf.log, leaf.locked) == ("work", ("edited",), False)
    assert other.node(uuids[1]).children == (uuids[2], feature)
    assert [n.uuid for n in other.nodes(uuids[0])] == [*uuids, feature]
    assert other.instance(uuids[0], "img").config == {"block": [64, 64, 64]}
    assert other.view(uuids[2], "img").get(b"k") == b"v"
    assert other.branch_versions(uuids[0], "feature") == [feature, uuids[1], uuids[0]]


def test_reopened_lmdb_store_keeps_the_catalog(tmp_path: object) -> None:
    path = str(tmp_path)
    store = LmdbStore(path)
    uuids = chain(Catalog(store), 2)
    store.close()
    store = LmdbStore(path)
    try:
        cat = Catalog(store)
        assert cat.node(uuids[0]).locked
        assert cat.branch_versions(uuids[0], "master") == uuids[::-1]
    finally:
        destroy(store)


def test_refs() -> None:
    cat = Catalog(MemoryStore())
    a = cat.create_repo(root="abc" + "0" * 29).root
    cat.commit(a)
    b = cat.newversion(a, uuid="abd" + "0" * 29).uuid
    assert cat.node("abc").uuid == a
    assert cat.node("ABD").uuid == b
    with pytest.raises(AmbiguousUUID, match="more than one node UUID matches prefix 'ab'"):
        cat.node("ab")
    with pytest.raises(NotFound, match="could not find a node with UUID 'fff'"):
        cat.node("fff")
    assert cat.node(":master").uuid == b
    assert cat.node(":master~1").uuid == a
    assert cat.node("abc:master").uuid == b
    assert cat.node(f"{b}~1").uuid == a
    with pytest.raises(NotFound, match="only 2 versions"):
        cat.node(":master~2")
    with pytest.raises(NotFound, match="branch 'nope' not found"):
        cat.node(":nope")
    cat.create_repo()
    with pytest.raises(InvalidRequest, match="more than one repo"):
        cat.node(":master")
    assert cat.node("abc:master").uuid == b  # a prefix picks the repo


def test_node_rules_through_the_catalog(store: KVStore) -> None:
    cat = Catalog(store)
    root = cat.create_repo().root
    with pytest.raises(InvalidRequest, match="commit it first"):
        cat.newversion(root)
    with pytest.raises(InvalidRequest, match="commit it first"):
        cat.branch(root, "f")
    cat.commit(root, note="done", log=["l1"])
    assert (cat.node(root).note, cat.node(root).log) == ("done", ("l1",))
    with pytest.raises(InvalidRequest, match="already committed"):
        cat.commit(root)
    with pytest.raises(VersionLocked, match="cannot set the note of"):
        cat.set_note(root, "x")
    with pytest.raises(VersionLocked, match="cannot append to the log of"):
        cat.append_node_log(root, ["x"])
    child = cat.newversion(root, note="n")
    assert (child.branch, child.note, child.parents) == ("master", "n", (root,))
    with pytest.raises(InvalidRequest, match="already has a child on branch 'master'"):
        cat.newversion(root)
    cat.branch(root, "f")
    with pytest.raises(InvalidRequest, match="branch 'f' already exists"):
        cat.branch(root, "f")
    with pytest.raises(InvalidRequest, match="master branch"):
        cat.branch(root, "master")
    cat.commit(child.uuid)
    with pytest.raises(Conflict, match="exists"):
        cat.newversion(child.uuid, uuid=root)
    assert cat.branch_versions(root, "nope") == []
    assert cat.node(child.uuid).children == ()  # the refused child was not linked
    assert [n.uuid for n in cat.log(child.uuid)] == [root, child.uuid]
    assert len(cat.nodes(root)) == 3


def test_failed_creation_leaves_nothing_behind() -> None:
    cat = Catalog(MemoryStore())
    root = cat.create_repo().root
    cat.commit(root)
    taken = cat.newversion(root).uuid
    cat.commit(taken)
    before = list(cat.store.scan(b"\x00node/", b"\x00node0"))
    with pytest.raises(Conflict):
        cat.branch(root, "f", uuid=taken)
    assert list(cat.store.scan(b"\x00node/", b"\x00node0")) == before
    assert cat.branch_versions(root, "f") == []
    cat.branch(root, "f")  # the name was released again


def test_instances(store: KVStore) -> None:
    cat = Catalog(store)
    root = cat.create_repo().root
    info = cat.create_instance(root, "seg", "labelmap", {"a": 1}, versioned=False)
    assert (info.name, info.typename, info.repo, info.versioned) == ("seg", "labelmap", root, False)
    with pytest.raises(Conflict, match="instance 'seg' already exists"):
        cat.create_instance(root, "seg", "labelmap", {})
    with pytest.raises(InvalidRequest, match="reserved"):
        cat.create_instance(root, "commit", "labelmap", {})
    with pytest.raises(InvalidRequest, match="must match"):
        cat.create_instance(root, "a/b", "labelmap", {})
    with pytest.raises(InvalidRequest, match="JSON"):
        cat.create_instance(root, "x", "labelmap", {"bad": object()})
    with pytest.raises(NotFound, match=f"no data instance 'nope' in repo {root}"):
        cat.instance(root, "nope")
    cat.commit(root)
    with pytest.raises(VersionLocked, match="create instance 'img'"):
        cat.create_instance(root, "img", "uint8blk", {})
    child = cat.newversion(root).uuid
    img = cat.create_instance(root, "img", "uint8blk", {})  # at the open master leaf
    assert img.instance_id != info.instance_id
    assert [i.name for i in cat.instances(child)] == ["img", "seg"]
    updated = cat.update_instance_config(root, "img", lambda c: {**c, "levels": 3})
    assert updated.config == {"levels": 3}
    assert cat.instance(child, "img").config == {"levels": 3}


def test_a_store_of_the_old_key_layout_is_refused(store: KVStore) -> None:
    """Layout 1 (tombstones as empty values) had repos but no layout record; layout 2
    stored versions ascending. Both are refused with a message naming the layouts."""
    store.put(b"\x00repo/" + b"0" * 32, b"{}")
    with pytest.raises(StorageError, match="key layout 1"):
        Catalog(store)
    store.put(b"\x00layout", b"2")  # versions ascending in data keys
    with pytest.raises(StorageError, match="uses key layout 2, this voxhub reads layout 3"):
        Catalog(store)
    store.put(b"\x00layout", b"3")
    Catalog(store)  # the current layout opens
