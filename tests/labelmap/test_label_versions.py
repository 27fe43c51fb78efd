"""Label pyramids and version merges of labelmap instances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import voxhub
from voxhub import Box
from voxhub.datatypes.labelmap.rle import mask_in_box, runs_from_mask
from voxhub.errors import MergeConflict

BLOCK = (8, 8, 8)


def test_pyramid_keeps_labels_alone_in_a_corner() -> None:
    lv = (
        voxhub.open("memory://")
        .create_repo("p")
        .master.create_labels("seg", block_shape=BLOCK, max_scale=2)
    )
    data = np.zeros((16, 16, 16), np.uint64)
    data[0, 0, 0] = 2**40 + 1  # one voxel of its 2x2x2 cell: ndstore/BossDB would drop it
    data[8:, 8:, 8:] = 9
    lv[0:16, 0:16, 0:16] = data
    half = lv.read(Box((0, 0, 0), (8, 8, 8)), scale=1)
    assert half[0, 0, 0] == 2**40 + 1
    assert (half[4:, 4:, 4:] == 9).all()
    assert set(np.unique(half).tolist()) <= {0, 9, 2**40 + 1}  # never an invented id
    lv.merge(9, [2**40 + 1])
    assert lv.read(Box((0, 0, 0), (4, 4, 4)), scale=2)[0, 0, 0] == 9  # bodies at every scale


def test_branches_merge_and_conflicting_mutations_are_refused() -> None:
    repo = voxhub.open("memory://").create_repo("m")
    root = repo.master
    lv = root.create_labels("seg", block_shape=BLOCK, max_scale=1)
    lv[0:8, 0:8, 0:8] = 1
    lv[0:8, 0:8, 8:16] = 2
    lv[8:16, 0:8, 0:8] = 3
    root.commit()
    left, right = root.newversion(), root.branch("proof")
    left.labels("seg").merge(1, [2])
    right.labels("seg")[8:16, 8:16, 8:16] = 4  # a new body elsewhere: no conflict
    left.commit()
    right.commit()
    merged = repo.merge(left, right).labels("seg")
    assert merged.supervoxels(1) == [1, 2]
    assert merged.size(4) == 512
    assert (merged.read(Box((4, 4, 4), (8, 8, 8)), scale=1) == 4).all()  # repaired pyramid
    a, b = merged.node.commit().newversion(), merged.node.branch("other")
    a.labels("seg").merge(1, [3])
    b.labels("seg").merge(3, [1])  # both sides changed body 1's and 3's index: a conflict
    a.commit()
    b.commit()
    with pytest.raises(MergeConflict) as info:
        repo.merge(a, b)
    assert any(k.startswith("index:") for k in info.value.report["seg"])


def test_label_queries_work_on_blocks_stored_without_cseg() -> None:
    # Instances made by the API always use cseg; the decode-and-compare path serves any
    # other codec (e.g. data imported by hand), and must agree.
    from voxhub.datatypes.imageblk import ImageConfig
    from voxhub.datatypes.labelmap.instance import LabelInstance
    from voxhub.datatypes.labelmap.opening import counters_for

    hub = voxhub.open("memory://")
    node = hub.create_repo("z").master
    config = ImageConfig.create(dtype="uint64", block_shape=(8, 8, 8), codec={"name": "zstd"})
    info = hub.catalog.create_instance(node.uuid, "seg", "labelmap", config.to_json())
    inst = LabelInstance(
        hub.catalog.view(node.uuid, "seg"), config, "seg", counters_for(hub.store, info)
    )
    data = np.zeros((16, 16, 16), np.uint64)
    data[2:10, 3:5, 1:15] = 6
    inst.write((0, 0, 0), data)
    assert inst.bbox(6) == Box((2, 3, 1), (10, 5, 15))
    assert int(inst.sparsevol(6)[:, 3].sum()) == inst.size(6) == 8 * 2 * 14


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([(8, 8, 8), (16, 16, 16), (8, 16, 24)]))
def test_sparsevol_equals_the_runs_of_the_voxels(seed: int, block: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(seed)
    hub = voxhub.open("memory://")
    lv = hub.create_repo("s").master.create_labels("seg", block_shape=block)
    shape = (24, 32, 40)
    centers = rng.integers(0, 40, (5, 3))
    grid = np.indices(shape).reshape(3, -1).T
    nearest = np.argmin(((grid[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)
    ids = np.array([0, 7, 2**40 + 1, 2**63 + 5, 9], np.uint64)[nearest].reshape(shape)
    lv[0:24, 0:32, 0:40] = ids
    merged = {7, 9} <= set(np.unique(ids).tolist())  # random centres may miss a cell
    if merged:
        lv.merge(7, [9])
    body7 = np.isin(ids, [7, 9]) if merged else ids == 7
    for label, mask in ((7, body7), (2**40 + 1, ids == 2**40 + 1)):
        if not mask.any():
            continue
        expected = runs_from_mask(mask, (0, 0, 0))
        got = lv.sparsevol(label)
        order = np.lexsort((got[:, 0], got[:, 1], got[:, 2]))
        assert np.array_equal(mask_in_box(got, Box((0, 0, 0), shape)), mask)
        assert int(got[:, 3].sum()) == int(mask.sum()) == int(expected[:, 3].sum())
        assert np.all(got[order, 3] > 0)
