"""Mutation lines of the node log: written once per request, in the request's first
write transaction that commits, at the node written; catalog lines interleave by time."""

from __future__ import annotations

import pytest

from voxhub.errors import VersionLocked
from voxhub.storage import KVStore
from voxhub.versioning import node_log
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.protocols import VersionedTxn


def _setup(store: KVStore, versioned: bool = True) -> tuple[Catalog, str]:
    cat = Catalog(store)
    root = cat.create_repo().root
    cat.create_instance(root, "kv", "keyvalue", {}, versioned=versioned)
    return cat, root


def test_one_line_per_request_in_its_first_committed_write(store: KVStore) -> None:
    cat, root = _setup(store)
    view = cat.view(root, "kv")
    view.put_many([(b"a", b"1")])  # no request line armed: nothing logged
    assert cat.node_log(root) == []

    def refuse(txn: VersionedTxn) -> None:
        txn.put(b"b", b"2")
        raise RuntimeError("refused inside the transaction")

    with node_log.logging_writes("merge"):
        with pytest.raises(RuntimeError):
            view.transact(refuse)  # rolled back: no data, no line
        assert cat.node_log(root) == []
        view.put_many([(b"c", b"3")])
        view.delete_many([b"a"])  # a second write of the same request: no second line
        with node_log.logging_writes("nested"):  # the outer request's line stands
            view.put_many([(b"d", b"4")])
    assert cat.node_log(root) == ["merge"]
    assert view.get(b"b") is None


def test_catalog_and_mutation_lines_interleave_by_time(store: KVStore) -> None:
    cat, root = _setup(store)
    view = cat.view(root, "kv")
    cat.append_node_log(root, [node_log.stamp("ann", "", "first")])
    with node_log.logging_writes(node_log.stamp("bob", "tool", "POST kv/x")):
        view.put_many([(b"x", b"1")])
    cat.append_node_log(root, [node_log.stamp("", "", "third"), "unstamped"])
    log = cat.node_log(root)
    assert [line.split(" ", 1)[1] for line in log[:3]] == [
        "u=ann: first",
        "u=bob app=tool: POST kv/x",
        "third",
    ]
    assert log[3] == "unstamped"  # takes its predecessor's time
    assert cat.node(root).log == (log[0], log[2], log[3])  # the record keeps catalog lines


def test_a_committed_node_refuses_the_write_and_logs_nothing(store: KVStore) -> None:
    cat, root = _setup(store)
    cat.commit(root)
    with node_log.logging_writes("late"), pytest.raises(VersionLocked):
        cat.view(root, "kv").put_many([(b"a", b"1")])
    assert cat.node_log(root) == []


def test_unversioned_writes_at_a_committed_node_are_logged_there(store: KVStore) -> None:
    cat, root = _setup(store, versioned=False)
    cat.commit(root)
    with node_log.logging_writes("ingest"):
        cat.view(root, "kv").put_many([(b"a", b"1")])
    assert cat.node_log(root)[-1] == "ingest"
