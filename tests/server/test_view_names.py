"""The node and instance a view URL names are kept per repo generation
(``voxhub.server.view_names``), and whatever changes them, in this worker or another
sharing the store, is seen by the next request: a new voxel size (the chunk grid's names),
a commit (immutable answers), a new leaf of a branch, a recreated store."""

from __future__ import annotations

import numpy as np
from starlette.testclient import TestClient
from tests.server.counted_store import CountedReads

from voxhub.cache_stats import snapshot
from voxhub.client import EmbeddedHub
from voxhub.server.view_names import Named, ViewNames, kept


def _chunk(scale: str) -> str:
    return f"{scale}/0-8_0-8_0-8"


def test_only_references_to_a_whole_uuid_are_kept() -> None:
    whole = "0123456789abcdef0123456789ABCDEF"
    assert kept(whole)
    assert kept(f"{whole}:master")
    assert kept(f"{whole}~2")
    assert kept(f"{whole}:master~1")
    assert not kept(whole[:31])
    assert not kept(":master")
    assert not kept(f" {whole}")


def test_changes_by_another_worker_are_seen_by_the_next_view_request(
    two_workers: tuple[EmbeddedHub, TestClient, TestClient],
) -> None:
    hub, ca, cb = two_workers
    root = hub.create_repo("r", "").master
    root.create_volume("gray", "uint8", block_shape=(8, 8, 8))[0:8, 0:8, 0:8] = 7
    root.commit("one")
    child = root.newversion("two")
    child.volume("gray")[0:8, 0:8, 0:8] = 9
    pinned, branch = f"/precomputed/{root.uuid}/gray", f"/precomputed/{root.uuid}:master/gray"
    hits = snapshot().get("view_names", (0, 0))[0]
    for _ in range(2):
        answer = cb.get(f"{pinned}/{_chunk('1_1_1')}")
        assert answer.status_code == 200
        assert answer.content == bytes([7]) * 512
        assert "immutable" in answer.headers["cache-control"]
    assert snapshot()["view_names"][0] > hits  # the second was kept

    # the voxel size (not versioned) renames the chunk grid, at every node
    hub.catalog.update_instance_config(root.uuid, "gray", lambda c: {**c, "voxel_size": [4, 4, 4]})
    assert cb.get(f"{pinned}/{_chunk('1_1_1')}").status_code == 404
    assert cb.get(f"{pinned}/{_chunk('4_4_4')}").content == bytes([7]) * 512

    # a branch reference follows its leaf: the open child, then its committed successor
    assert cb.get(f"{branch}/{_chunk('4_4_4')}").content == bytes([9]) * 512
    open_child = cb.get(f"/precomputed/{child.uuid}/gray/{_chunk('4_4_4')}")
    assert open_child.headers["cache-control"] == "no-cache"
    ca.post(f"/api/node/{child.uuid}/commit", json={}).raise_for_status()
    grandchild = hub.node(child.uuid).newversion("three")
    grandchild.volume("gray")[0:8, 0:8, 0:8] = np.full((8, 8, 8), 11, np.uint8)
    assert cb.get(f"{branch}/{_chunk('4_4_4')}").content == bytes([11]) * 512
    committed = cb.get(f"/precomputed/{child.uuid}/gray/{_chunk('4_4_4')}")
    assert "immutable" in committed.headers["cache-control"]
    assert committed.content == bytes([9]) * 512


def test_refusals_are_not_kept(
    two_workers: tuple[EmbeddedHub, TestClient, TestClient],
) -> None:
    """A 404 for an instance that does not exist yet is not remembered: once another
    worker creates it, it is served (and the first repo's one still is)."""
    hub, _, cb = two_workers
    first = hub.create_repo("a", "").master
    first.create_volume("gray", "uint8", block_shape=(8, 8, 8))[0:8, 0:8, 0:8] = 1
    assert cb.get(f"/zarr/{first.uuid}/gray/s0/c/0/0/0").status_code == 200
    second = hub.create_repo("b", "").master
    assert cb.get(f"/zarr/{second.uuid}/gray/s0/c/0/0/0").status_code == 404
    second.create_volume("gray", "uint8", block_shape=(8, 8, 8))[0:8, 0:8, 0:8] = 2
    assert cb.get(f"/zarr/{second.uuid}/gray/s0/c/0/0/0").status_code == 200
    assert cb.get(f"/zarr/{first.uuid}/gray/s0/c/0/0/0").status_code == 200


def test_a_kept_resolution_is_reused_without_a_read_while_nothing_is_written() -> None:
    store = CountedReads()
    hub = EmbeddedHub(store)
    root = hub.create_repo("r", "").master
    root.create_volume("gray", "uint8")
    info = hub.catalog.instance(root.uuid, "gray")
    names, made = ViewNames(store), []

    def resolve() -> Named:
        made.append(1)
        return Named(root.uuid, hub.catalog.instance(root.uuid, "gray"), False, False, True)

    assert names.named(root.uuid, "gray", "v", resolve).info == info
    resolved, reads = len(made), store.reads
    for _ in range(3):  # nothing written: the marker alone answers
        assert names.named(root.uuid, "gray", "v", resolve).info == info
    assert (len(made), store.reads) == (resolved, reads)
    store.put(b"unrelated", b"x")  # a write: the generation record is read, and equal
    assert names.named(root.uuid, "gray", "v", resolve).info == info
    assert (len(made), store.reads) == (resolved, reads + 1)
    assert names.named(root.uuid, "gray", "v", resolve).info == info  # checked against it
    assert store.reads == reads + 1
    hub.catalog.update_instance_config(root.uuid, "gray", lambda c: {**c, "voxel_size": [4, 4, 4]})
    again = names.named(root.uuid, "gray", "v", resolve)  # a new generation: resolved again
    assert len(made) > resolved
    assert again.info.config["voxel_size"] == [4, 4, 4]
