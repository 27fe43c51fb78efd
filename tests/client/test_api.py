"""The embedded numpy API end to end: repos, versions, volumes, typed errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import voxhub
from voxhub import Box
from voxhub.client import EmbeddedHub, Hub
from voxhub.errors import (
    Conflict,
    InvalidRequest,
    MergeConflict,
    NotFound,
    StorageError,
    VersionLocked,
)
from voxhub.storage.s3_store import S3Store
from voxhub.testing.seaweed import SeaweedServer
from voxhub.testing.server import ServerProcess, free_port


@pytest.fixture(params=["memory", "lmdb", "s3", "remote"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    if request.param == "remote":  # the same API through a real server process
        server: ServerProcess = request.getfixturevalue("voxhub_server")
        with voxhub.open(server.url) as remote:
            yield remote
        return
    if request.param == "s3":
        weed: SeaweedServer = request.getfixturevalue("seaweed")
        store = S3Store(
            weed.bucket,
            f"api-{uuid.uuid4().hex}",
            endpoint=weed.endpoint,
            access_key_id=weed.access_key,
            secret_access_key=weed.secret_key,
        )
        with EmbeddedHub(store) as h:
            yield h
        return
    location = "memory://" if request.param == "memory" else str(tmp_path / "store")
    with voxhub.open(location) as h:
        yield h


def test_repos_are_listed_and_found_by_alias_or_prefix(hub: Hub) -> None:
    a = hub.create_repo("alpha", "first")
    b = hub.create_repo("beta")
    assert {r.alias for r in hub.repos()} == {"alpha", "beta"}
    assert hub.repo("alpha") == a
    assert hub.repo(b.root[:12]) == b
    assert a.description == "first"
    with pytest.raises(NotFound, match="gamma"):
        hub.repo("gamma")


def test_volume_round_trip_with_numpy_slicing(hub: Hub) -> None:
    vol = hub.create_repo("r").master.create_volume("em", "uint16", block_shape=(16, 16, 16))
    data = np.random.default_rng(0).integers(0, 60000, (20, 30, 40), dtype=np.uint16)
    vol[5:25, 3:33, 7:47] = data
    assert vol.extents() == Box((5, 3, 7), (25, 33, 47))
    assert np.array_equal(vol[5:25, 3:33, 7:47], data)
    assert np.array_equal(vol[10, 3:33, 7:47], data[5])
    assert vol[24, 32, 46] == data[-1, -1, -1]
    assert np.array_equal(vol[-1], data[-1])  # negative index: from the end of the extents
    assert np.array_equal(vol[0:5, 0:3, 0:7], np.zeros((5, 3, 7), np.uint16))
    vol[10:12, 10:12, 10:12] = 7  # scalars broadcast
    assert (vol[10:12, 10:12, 10:12] == 7).all()
    assert vol[9, 9, 9] == data[4, 6, 2]


def test_versions_isolate_writes_and_committed_nodes_refuse(hub: Hub) -> None:
    repo = hub.create_repo("v")
    root = repo.master
    vol = root.create_volume("em", "uint8", block_shape=(8, 8, 8))
    vol[0:8, 0:8, 0:8] = np.full((8, 8, 8), 1, np.uint8)
    root.commit("import")
    with pytest.raises(VersionLocked):
        vol[0:8, 0:8, 0:8] = np.full((8, 8, 8), 9, np.uint8)
    child = root.newversion("edit")
    child.volume("em")[0:4, 0:8, 0:8] = 2
    assert (root.volume("em")[...] == 1).all()
    assert (child.volume("em")[0:4] == 2).all()
    assert (child.volume("em")[4:8] == 1).all()
    assert repo.master == child
    assert [n.uuid for n in child.log()] == [root.uuid, child.uuid]
    assert child.diff(root, "em") == ["0:0,0,0"]


def test_branch_and_merge_with_conflict_report(hub: Hub) -> None:
    repo = hub.create_repo("m")
    root = repo.master
    vol = root.create_volume("em", "uint8", block_shape=(8, 8, 8))
    vol[0:16, 0:8, 0:8] = 1
    root.commit()
    left = root.newversion()
    right = root.branch("proofread")
    left.volume("em")[0:8, 0:8, 0:8] = 2
    right.volume("em")[0:8, 0:8, 0:8] = 3
    right.volume("em")[8:16, 0:8, 0:8] = 4
    left.commit()
    right.commit()
    with pytest.raises(MergeConflict) as info:
        repo.merge(left, right)
    assert info.value.report == {"em": ["0:0,0,0"]}
    merged = repo.merge(left, right, resolve=True, note="left wins")
    out = merged.volume("em")
    assert (out[0:8] == 2).all()  # conflict: the first parent wins
    assert (out[8:16] == 4).all()  # only the branch changed it: no conflict
    assert repo.node("proofread") == right


def test_pyramid_reads_at_every_scale(hub: Hub) -> None:
    vol = hub.create_repo("p").master.create_volume(
        "em", "float32", block_shape=(8, 8, 8), max_scale=2
    )
    data = np.random.default_rng(1).random((16, 16, 16), dtype=np.float32)
    vol[0:16, 0:16, 0:16] = data
    half = data.reshape(8, 2, 8, 2, 8, 2).mean(axis=(1, 3, 5))
    quarter = half.reshape(4, 2, 4, 2, 4, 2).mean(axis=(1, 3, 5))
    assert np.allclose(vol.at_scale(1)[...], half, atol=1e-6)
    assert np.allclose(vol.read(Box((0, 0, 0), (4, 4, 4)), scale=2), quarter, atol=1e-6)
    with pytest.raises(InvalidRequest, match="scale 3"):
        vol.at_scale(3)


def test_bad_volume_requests_raise_typed_errors(hub: Hub) -> None:
    node = hub.create_repo("e").master
    with pytest.raises(InvalidRequest):
        node.create_volume("em", "complex64")
    node.create_volume("em", "uint8")
    with pytest.raises(Conflict, match="em"):
        node.create_volume("em", "uint8")  # duplicate name
    with pytest.raises(NotFound, match="nope"):
        node.volume("nope")
    vol = node.volume("em")
    with pytest.raises(InvalidRequest):
        vol[0:2, 0:2, 0:2] = np.zeros((3, 3, 3), np.uint8)
    with pytest.raises(InvalidRequest):
        vol[0:2, 0:2, 0:2] = np.full((2, 2, 2), 1000, np.int64)  # would not fit in uint8
    assert vol.extents() is None


def test_store_reopens_with_everything(tmp_path: Path) -> None:
    path = str(tmp_path / "store")
    with voxhub.open(path) as hub:
        repo = hub.create_repo("keep")
        repo.master.create_volume("em", "uint8")[0:3, 0:3, 0:3] = 5
        repo.master.commit("done")
        root = repo.root
    with voxhub.open(path) as hub:
        repo = hub.repo("keep")
        assert repo.root == root
        assert repo.master.locked
        assert (repo.master.volume("em")[...] == 5).all()


def test_an_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="unreachable"):
        voxhub.open(f"http://127.0.0.1:{free_port()}")


def test_disjoint_edits_merge_and_derived_data_is_recomputed(hub: Hub) -> None:
    repo = hub.create_repo("d")
    root = repo.master
    vol = root.create_volume("em", "uint8", block_shape=(8, 8, 8), max_scale=1)
    vol[0:8, 0:8, 0:8] = 10
    root.commit()
    left, right = root.newversion(), root.branch("other")
    left.volume("em")[0:8, 0:8, 8:16] = 20  # same scale-1 block as right's edit
    right.volume("em")[8:16, 0:8, 0:8] = 30
    left.commit()
    right.commit()
    merged = repo.merge(left, right).volume("em")  # extents and pyramid differ: no conflict
    assert merged.extents() == Box((0, 0, 0), (16, 8, 16))
    full = merged[0:16, 0:16, 0:16]
    assert (full[0:8, 0:8, 8:16] == 20).all()
    assert (full[8:16, 0:8, 0:8] == 30).all()
    expected = full.reshape(8, 2, 8, 2, 8, 2).astype(np.float64).mean(axis=(1, 3, 5))
    assert np.array_equal(merged.at_scale(1)[0:8, 0:8, 0:8], np.floor(expected + 0.5))
