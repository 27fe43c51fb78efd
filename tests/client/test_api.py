"""The embedded numpy API end to end: repos, versions, volumes, typed errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

import voxhub
from voxhub import Box
from voxhub.client import Hub
from voxhub.datatypes.labelmap.rle import mask_in_box, voxels_of_runs
from voxhub.errors import (
    Conflict,
    InvalidRequest,
    MergeConflict,
    NotFound,
    OutOfBounds,
    StorageError,
    VersionLocked,
)
from voxhub.testing.server import free_port


def test_repos_are_listed_and_found_by_alias_or_prefix(hub: Hub) -> None:
    # The remote hub is the session's shared server, where other tests create repos too
    # (aliases are unique per store): fresh names, and the listing checked for them.
    tag = uuid.uuid4().hex[:8]
    before = {r.alias for r in hub.repos()}
    a = hub.create_repo(f"alpha-{tag}", "first")
    b = hub.create_repo(f"beta-{tag}")
    assert {r.alias for r in hub.repos()} == before | {f"alpha-{tag}", f"beta-{tag}"}
    assert hub.repo(f"alpha-{tag}") == a
    assert hub.repo(b.root[:12]) == b
    assert a.description == "first"
    with pytest.raises(NotFound, match=f"gamma-{tag}"):
        hub.repo(f"gamma-{tag}")


def test_volume_round_trip_with_numpy_slicing(hub: Hub) -> None:
    vol = hub.create_repo("r").master.create_volume("em", "uint16", block_shape=(16, 16, 16))
    data = np.random.default_rng(0).integers(0, 60000, (20, 30, 40), dtype=np.uint16)
    vol[5:25, 3:33, 7:47] = data
    assert vol.extents() == Box((5, 3, 7), (25, 33, 47))
    assert np.array_equal(vol[5:25, 3:33, 7:47], data)
    assert np.array_equal(vol[10, 3:33, 7:47], data[5])
    assert vol[24, 32, 46] == data[-1, -1, -1]
    assert np.array_equal(vol[-1, 3:, 7:], data[-1])  # negative index: from the bounds' end
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
    assert [n.uuid for n in child.lineage()] == [root.uuid, child.uuid]
    assert [n.uuid for n in repo.lineage()] == [root.uuid, child.uuid]
    child.append_log("painted the top half")
    assert child.log_lines[-1].endswith("painted the top half")
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
    assert vol.shape == (0, 0, 0)


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
    assert merged.shape == (16, 8, 16)
    full = merged.read(Box((0, 0, 0), (16, 16, 16)))  # past the bounds: background
    assert (full[0:8, 0:8, 8:16] == 20).all()
    assert (full[8:16, 0:8, 0:8] == 30).all()
    expected = full.reshape(8, 2, 8, 2, 8, 2).astype(np.float64).mean(axis=(1, 3, 5))
    assert np.array_equal(merged.read(Box((0, 0, 0), (8, 8, 8)), 1), np.floor(expected + 0.5))
    assert np.array_equal(merged.at_scale(1)[...], np.floor(expected[:, :4] + 0.5))


def test_bounds_are_one_domain_for_shape_slices_and_negative_indices(hub: Hub) -> None:
    """The issue's case: written at z 10..20, so ``shape`` and ``vol[:]`` agree on 20."""
    node = hub.create_repo("b").master
    vol = node.create_volume("em", "uint8", block_shape=(8, 8, 8), max_scale=1)
    data = np.arange(10 * 4 * 4, dtype=np.uint8).reshape(10, 4, 4)
    vol[10:20, 0:4, 0:4] = data
    assert vol.extents() == Box((10, 0, 0), (20, 4, 4))
    assert vol.bounds == Box((0, 0, 0), (20, 4, 4))
    assert vol.shape == vol[:].shape == vol[...].shape == (20, 4, 4)
    assert np.array_equal(vol[10:], data)
    assert np.array_equal(vol[-10:], data)
    assert np.array_equal(vol[-1, -1], data[-1, -1])
    assert vol[0:100, 0:100, 0:100].shape == (20, 4, 4)  # clipped, as numpy
    assert vol[25:30].shape == (0, 4, 4)
    for key in [(20,), (-21,), (0, 4), (0, 0, -5)]:
        with pytest.raises(OutOfBounds, match="out of bounds"):
            vol[key]
    with pytest.raises(IndexError):
        vol[20, 0, 0]
    assert vol.at_scale(1).shape == (10, 2, 2)
    # writes past the bounds grow them (DVID volumes are unbounded)
    vol[20, :, :] = 9
    vol[:, :, 4:6] = np.full((21, 4, 2), 5, np.uint8)
    assert vol.shape == (21, 4, 6)
    assert (vol[20, :, :4] == 9).all()
    assert (vol[:, :, 4:] == 5).all()
    assert vol.at_scale(1).shape == (11, 2, 3)
    # the bounds are per version: a sibling branch does not see the growth
    node.commit()
    child = node.newversion()
    child.volume("em")[30, 0, 0] = 1
    assert child.volume("em").shape == (31, 4, 6)
    assert node.volume("em").shape == (21, 4, 6)


def test_label_volumes_share_the_bounds_contract(hub: Hub) -> None:
    lv = hub.create_repo("lb").master.create_labels("seg", block_shape=(8, 8, 8))
    assert lv.shape == (0, 0, 0)
    assert lv[:].shape == (0, 0, 0)
    lv[4:6, 0:2, 0:3] = np.arange(1, 13, dtype=np.uint64).reshape(2, 2, 3)
    assert lv.shape == lv[:].shape == lv.sv[:].shape == (6, 2, 3)
    assert lv[-1, -1, -1] == 12
    assert lv.sv[5, 1, 2] == 12
    with pytest.raises(OutOfBounds):
        lv[6]
    with pytest.raises(OutOfBounds):
        lv.sv[0, 0, 3]
    lv[:, :, 3:] = np.uint64(40)  # a scalar past the end: one voxel deep along x
    assert lv.shape == (6, 2, 4)
    assert lv.size(40) == 12


def test_mutation_results_are_typed_and_the_same_everywhere(hub: Hub) -> None:
    lv = hub.create_repo("mr").master.create_labels("seg", block_shape=(8, 8, 8))
    lv[0:1, 0:1, 0:6] = np.array([[[1, 2, 3, 3, 4, 4]]], np.uint64)
    merged = lv.merge(1, [2])
    assert type(merged).__name__ == "MergeResult"
    assert merged.mutation_id > 0
    cleaved = lv.cleave(1, [2])
    assert lv.mapping([2]) == [cleaved.cleaved_body]
    assert cleaved.mutation_id > merged.mutation_id
    new_body, mutation = lv.split(3, np.array([[2, 0, 0, 1]], np.int32))  # unpacks too
    assert lv.size(new_body) == 1
    assert lv.size(3) == 1
    assert mutation > cleaved.mutation_id
    renumbered = lv.renumber({4: 400})
    assert lv.mapping([4]) == [400]
    assert renumbered.mutation_id > mutation
    sv_split = lv.split_supervoxel(4, np.array([[4, 0, 0, 1]], np.int32))
    assert lv.size(sv_split.split_supervoxel, supervoxels=True) == 1
    assert sv_split.mutation_id > renumbered.mutation_id
    both = lv.renumber({400: 500, 3: 300})  # several pairs: one mutation each
    assert both.mutation_ids == (both.mutation_id - 1, both.mutation_id)
    assert lv.mapping([sv_split.split_supervoxel, sv_split.remain_supervoxel]) == [500, 500]
    assert lv.size(300) == 1
    records = lv.mutations()
    assert [(r["Action"], r.get("NewLabel")) for r in records[-2:]] == [
        ("renumber-complete", 500),
        ("renumber-complete", 300),
    ]
    assert [r["MutationID"] for r in records][-2:] == list(both.mutation_ids)


def test_mutation_history_across_versions_is_the_same_everywhere(hub: Hub) -> None:
    root = hub.create_repo("mh").master
    lv = root.create_labels("seg", block_shape=(8, 8, 8))
    lv[0:1, 0:1, 0:4] = np.array([[[1, 2, 3, 3]]], np.uint64)
    merged = lv.merge(1, [2], user="ann")
    root.commit()
    child = root.newversion()
    at_child = child.labels("seg")
    split = at_child.split_supervoxel(3, np.array([[2, 0, 0, 1]], np.int32))
    assert [r["Action"] for r in at_child.mutations()] == ["split-supervoxel-complete"]
    records = at_child.mutations_range(root.uuid, child.uuid)
    assert [r["MutationID"] for r in records] == [split.mutation_id, merged.mutation_id]
    assert records[1]["User"] == "ann"
    assert at_child.history(1, root.uuid, child.uuid) == [
        {"Action": "merge", "Target": 1, "Labels": [2]}
    ]
    row = [split.mutation_id, 3, split.remain_supervoxel, split.split_supervoxel]
    assert at_child.supervoxel_splits() == [child.uuid, [row]]
    with pytest.raises(InvalidRequest, match="ancestor"):
        at_child.mutations_range(child.uuid, root.uuid)


def test_sparsevols_at_every_scale_and_within_bounds(hub: Hub) -> None:
    lv = hub.create_repo("sv").master.create_labels("seg", block_shape=(8, 8, 8), max_scale=1)
    seg = np.zeros((8, 8, 16), np.uint64)
    seg[:, :, :6] = 1
    seg[0, 0, 5] = 2  # outvoted by 1 in its 2x2x2 cell: gone at scale 1
    lv[0:8, 0:8, 0:16] = seg
    coarse = lv.sparsevol(1, scale=1)
    assert np.array_equal(mask_in_box(coarse, Box((0, 0, 0), (4, 4, 8))), seg[::2, ::2, ::2] == 1)
    bounded = lv.sparsevol(1, bounds=Box((2, 0, 4), (3, 8, 9)))
    assert voxels_of_runs(bounded).tolist() == [[2, y, x] for y in range(8) for x in (4, 5)]
    assert lv.sparsevol(2).tolist() == [[5, 0, 0, 1]]
    with pytest.raises(NotFound):
        lv.sparsevol(2, scale=1)
    with pytest.raises(NotFound):
        lv.sparsevol(1, bounds=Box((0, 0, 6), (8, 8, 16)))


def test_body_meshes_are_the_same_everywhere(hub: Hub) -> None:
    pytest.importorskip("zmesh")
    node = hub.create_repo("mesh").master
    lv = node.create_labels("seg", block_shape=(8, 8, 8), voxel_size=(10, 4, 2))
    seg = np.zeros((12, 12, 20), np.uint64)
    seg[1:11, 2:9, 3:17] = 4  # across blocks on every axis
    lv[0:12, 0:12, 0:20] = seg
    mesh = lv.mesh(4)  # vertices in nm, x y z; closed
    np.testing.assert_allclose(mesh.vertices.min(axis=0), [6, 8, 10], atol=0.01)
    np.testing.assert_allclose(mesh.vertices.max(axis=0), [34, 36, 110], atol=0.01)
    edges = np.sort(mesh.faces[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2), axis=1)
    assert set(np.unique(edges, axis=0, return_counts=True)[1].tolist()) == {2}
    with pytest.raises(NotFound):
        lv.mesh(5)


def test_repo_aliases_are_unique(hub: Hub) -> None:
    alias = f"unique-{uuid.uuid4().hex[:8]}"  # the remote server lives for the session
    first = hub.create_repo(alias)
    with pytest.raises(Conflict, match=alias):
        hub.create_repo(alias)
    other = hub.create_repo(f"other-{alias}")
    with pytest.raises(Conflict, match=alias):
        other.update(alias=alias)
    assert other.alias == f"other-{alias}"
    assert hub.repo(alias) == first
    assert [r.alias for r in hub.repos()].count(alias) == 1


def test_label_index_history_and_ingest_are_the_same_everywhere(hub: Hub) -> None:
    from voxhub.datatypes.labelmap.index import LabelIndex

    lv = hub.create_repo("li").master.create_labels("seg", block_shape=(8, 8, 8))
    lv[0:1, 0:1, 0:10] = np.array([[[1] * 5 + [2] * 5]], np.uint64)
    before = lv.index(1)
    assert before.blocks == {(0, 0, 0): {1: 5}}
    merged = lv.merge(1, [2])
    assert lv.index(1).blocks == {(0, 0, 0): {1: 5, 2: 3}, (0, 0, 1): {2: 2}}
    assert lv.index(1, mutid=merged.mutation_id) == before
    with pytest.raises(NotFound):
        lv.index(2)  # merged away
    lv.ingest_indices([LabelIndex(30, {(0, 0, 3): {31: 4, 32: 1}}), LabelIndex(1)])
    assert lv.supervoxel_sizes(30) == {31: 4, 32: 1}
    with pytest.raises(NotFound):
        lv.index(1)
    with pytest.raises(InvalidRequest):  # counts more voxels than a block holds
        lv.ingest_indices([LabelIndex(40, {(0, 0, 0): {40: 513}})])
    lv.ingest_mappings({31: 30, 32: 30})
    assert lv.mapping([31, 32, 33]) == [30, 30, 33]
    assert lv.next_labels(1).start > 32


def test_a_pyramid_level_name_cannot_be_taken(hub: Hub) -> None:
    # DVID's name of level 1 of "em" is "em_1" (neuroglancer reads it): creating an
    # instance under it is refused embedded as over HTTP; past the top level it is free
    node = hub.create_repo("levels-" + hub.__class__.__name__).master
    node.create_volume("em", "uint8", block_shape=(8, 8, 8), max_scale=1)
    with pytest.raises(Conflict, match="pyramid level 1"):
        node.create_labels("em_1")
    with pytest.raises(Conflict, match="pyramid level 1"):
        node.create_volume("em_1", "uint8")
    assert "em_1" not in node.instances()
    node.create_volume("em_2", "uint8", block_shape=(8, 8, 8))
    assert node.instances()["em_2"] == "uint8blk"


def test_whole_blocks_are_written_and_ingested_the_same_everywhere(hub: Hub) -> None:
    node = hub.create_repo("blocks-" + hub.__class__.__name__).master
    lv = node.create_labels("seg", block_shape=(8, 8, 8), max_scale=1)
    a = np.full((8, 8, 8), 5, np.uint64)
    a[:, :, 4:] = 2**63 + 7  # ids past int64 survive the wire
    b = np.zeros((8, 8, 8), np.uint32)
    b[0, 0, 0] = 9
    lv.write_blocks({(0, 0, 1): a, (1, 0, 0): b})
    assert np.array_equal(lv[0:8, 0:8, 8:16], a)
    assert np.array_equal(lv[8:16, 0:8, 0:8], b.astype(np.uint64))
    assert lv.size(5) == 256
    assert lv.size(9) == 1
    assert lv.read(Box((0, 0, 0), (4, 4, 8)), scale=1)[0, 0, 4] == 5  # and the pyramid
    # ingest-supervoxels: stored as given at that scale, nothing derived
    lv.ingest_supervoxels({(0, 0, 0): np.full((8, 8, 8), 3, np.uint64)}, scale=1)
    assert (lv.read(Box((0, 0, 0), (8, 8, 8)), scale=1) == 3).all()
    assert lv.size(5) == 256
    with pytest.raises(InvalidRequest, match="shape"):
        lv.write_blocks({(0, 0, 0): np.zeros((4, 8, 8), np.uint64)})
    with pytest.raises(InvalidRequest, match="unsigned"):
        lv.write_blocks({(0, 0, 0): np.full((8, 8, 8), -1, np.int64)})
    with pytest.raises(InvalidRequest, match="scale"):
        lv.ingest_supervoxels({(0, 0, 0): a}, scale=5)
    assert lv.size(5) == 256  # refused writes changed nothing
