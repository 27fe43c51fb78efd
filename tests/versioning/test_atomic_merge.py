"""A merge and its recomputed derived data are one step (issue 8 §2).

The merge child stays pending (invisible) until every datatype has repaired its derived
data there: a failing recompute leaves nothing behind and a retry works; a merge whose
process died is finished by the next ``Catalog`` opened on the store.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

import voxhub.datatypes.merge as datatype_merge
import voxhub.versioning.pending as pending
from voxhub.client import EmbeddedHub, Node
from voxhub.geometry import Box
from voxhub.storage import KVStore, MemoryStore
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.keys import WRITES_PREFIX, instance_range, version_of

from .conftest import BACKENDS, destroy


@pytest.fixture(params=sorted(BACKENDS))
def hub(request: pytest.FixtureRequest) -> Iterator[EmbeddedHub]:
    store = BACKENDS[request.param]()
    yield EmbeddedHub(store)
    destroy(store)


def two_sides(hub: EmbeddedHub) -> tuple[str, Node, Node]:
    """A repo whose two committed leaves edited different blocks of one pyramid block."""
    repo = hub.create_repo("m")
    root = repo.master
    vol = root.create_volume("em", "uint8", block_shape=(8, 8, 8), max_scale=1)
    vol[0:8, 0:8, 0:8] = 10
    root.commit()
    left, right = root.newversion(), root.branch("other")
    left.volume("em")[0:8, 0:8, 8:16] = 20
    right.volume("em")[8:16, 0:8, 0:8] = 30
    left.commit()
    right.commit()
    return repo.root, left, right


def written_at(store: KVStore, instance_id: int, version_id: int) -> list[bytes]:
    """Every data or write-set key a version owns in an instance."""
    data = [
        k
        for k, _ in store.scan(*instance_range(instance_id), keys_only=True)
        if version_of(k) == version_id
    ]
    start = WRITES_PREFIX + instance_id.to_bytes(4, "big") + version_id.to_bytes(4, "big")
    return data + [k for k, _ in store.scan(start, start + b"\xff", keys_only=True)]


def assert_merged(hub: EmbeddedHub, uuid: str) -> None:
    merged = Node(hub, uuid).volume("em")
    assert merged.extents() == Box((0, 0, 0), (16, 8, 16))
    full = merged.read(Box((0, 0, 0), (16, 16, 16)))  # past the bounds: background
    assert (full[8:16, 0:8, 0:8] == 30).all()
    expected = full.reshape(8, 2, 8, 2, 8, 2).astype(np.float64).mean(axis=(1, 3, 5))
    assert np.array_equal(merged.read(Box((0, 0, 0), (8, 8, 8)), 1), np.floor(expected + 0.5))


def test_a_failing_recompute_leaves_no_merge_node_and_a_retry_works(
    hub: EmbeddedHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, left, right = two_sides(hub)
    cat = hub.catalog
    before = [n.uuid for n in cat.nodes(root)]
    begun: list[tuple[str, int]] = []
    real_publish = Catalog.publish_merge

    def fail_after_recompute(self: Catalog, uuid: str) -> object:
        begun.append((uuid, cat.pending_merges()[0].version_id))
        raise RuntimeError("injected failure after the derived data was recomputed")

    monkeypatch.setattr(Catalog, "publish_merge", fail_after_recompute)
    with pytest.raises(RuntimeError, match="injected"):
        hub.repo(root).merge(left, right)
    ((uuid, version_id),) = begun
    instance_id = cat.instance(root, "em").instance_id
    assert [n.uuid for n in cat.nodes(root)] == before
    assert cat.node(left.uuid).children == ()
    assert cat.pending_merges() == []
    with pytest.raises(KeyError):
        cat.node(uuid)
    assert cat.node(f"{root}:master").uuid == left.uuid
    assert written_at(hub.store, instance_id, version_id) == []  # the recompute was undone

    monkeypatch.setattr(Catalog, "publish_merge", real_publish)
    merged = hub.repo(root).merge(left, right)
    assert cat.node(f"{root}:master").uuid == merged.uuid
    assert_merged(hub, merged.uuid)


def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def test_a_merge_whose_process_died_is_finished_by_the_next_catalog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = EmbeddedHub(MemoryStore())
    root, left, right = two_sides(hub)
    pid = dead_pid()
    monkeypatch.setattr(pending.os, "getpid", lambda: pid)  # the merge's owner, now dead
    child = datatype_merge.begin_merge(
        hub.catalog, [left.uuid, right.uuid]
    )  # then the process "dies"
    monkeypatch.undo()
    assert hub.catalog.node(f"{root}:master").uuid == left.uuid  # invisible meanwhile

    fresh = Catalog(hub.store)  # recovery on open: recompute, then publish
    assert fresh.pending_merges() == []
    assert fresh.node(f"{root}:master").uuid == child.uuid
    assert_merged(EmbeddedHub(hub.store), child.uuid)


def test_a_live_owners_pending_merge_is_left_alone() -> None:
    hub = EmbeddedHub(MemoryStore())
    _, left, right = two_sides(hub)
    child = datatype_merge.begin_merge(
        hub.catalog, [left.uuid, right.uuid]
    )  # owned by this live process
    assert Catalog(hub.store).recover_merges() == []
    assert [n.uuid for n in Catalog(hub.store).pending_merges()] == [child.uuid]
    datatype_merge.finish_merge(hub.catalog, child)
    assert_merged(hub, child.uuid)
