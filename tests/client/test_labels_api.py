"""The labelmap numpy API, the same embedded and through a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import voxhub
from voxhub import Box
from voxhub.client import Hub
from voxhub.datatypes.labelmap.rle import mask_in_box, runs_from_mask
from voxhub.errors import InvalidRequest, NotFound, VersionLocked
from voxhub.testing.server import ServerProcess

BIG = 2**40 + 3  # 40-bit ids, as real segmentations have


@pytest.fixture(params=["lmdb", "remote"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    if request.param == "remote":
        server: ServerProcess = request.getfixturevalue("voxhub_server")
        with voxhub.open(server.url) as remote:
            yield remote
        return
    with voxhub.open(str(tmp_path / "store")) as h:
        yield h


def test_paint_read_and_query(hub: Hub) -> None:
    node = hub.create_repo("labels").master
    lv = node.create_labels("seg", block_shape=(16, 16, 16), max_scale=1)
    data = np.zeros((20, 40, 40), np.uint64)
    data[:, :, :20] = BIG
    data[:, :, 20:] = 7
    lv[2:22, 0:40, 0:40] = data
    assert lv.extents() == Box((2, 0, 0), (22, 40, 40))
    assert np.array_equal(lv[2:22, 0:40, 0:40], data)
    assert lv.size(BIG) == 20 * 40 * 20
    assert lv.labels() == [7, BIG]
    assert lv.ids_in(Box((0, 0, 0), (4, 4, 24))) == [7, BIG]
    assert lv.bbox(7) == Box((2, 0, 20), (22, 40, 40))
    runs = lv.sparsevol(7)
    mask = mask_in_box(runs, Box((0, 0, 0), (24, 40, 40)))
    assert int(mask.sum()) == 20 * 40 * 20
    assert mask[2:22, :, 20:].all()
    assert lv.maxlabel() == BIG
    with pytest.raises(NotFound):
        lv.size(12345)
    with pytest.raises(InvalidRequest, match="background"):
        lv.size(0)


def test_mutations_and_versions(hub: Hub) -> None:
    repo = hub.create_repo("proof")
    root = repo.master
    lv = root.create_labels("seg", block_shape=(16, 16, 16))
    lv[0:16, 0:16, 0:16] = np.repeat(np.array([1, 2, 3, 4], np.uint64), 4).reshape(1, 1, 16)
    lv.merge(1, [2, 3], user="ann", app="neu3")
    assert lv.supervoxels(1) == [1, 2, 3]
    assert set(np.unique(lv[0:16, 0:16, 0:16]).tolist()) == {1, 4}
    assert set(np.unique(lv.sv[0:16, 0:16, 0:16]).tolist()) == {1, 2, 3, 4}
    assert lv.lastmod(1)["last mod user"] == "ann"
    new = lv.cleave(1, [3]).cleaved_body
    assert lv.mapping([1, 2, 3, 4]) == [1, 1, new, 4]
    box = Box((0, 0, 0), (16, 16, 2))  # split supervoxel 1's first two columns... of x
    split_id, remain_id, _ = lv.split_supervoxel(1, runs_from_mask(np.ones(box.shape, bool)))
    assert lv.size(split_id, supervoxels=True) == 16 * 16 * 2
    assert lv.mapping([split_id, remain_id, 1]) == [1, 1, 0]
    fresh = lv.next_labels(3)
    assert len(fresh) == 3
    assert min(fresh) > new
    actions = [m["Action"] for m in lv.mutations()]
    assert actions == ["merge-complete", "cleave-complete", "split-supervoxel-complete"]
    root.commit()
    with pytest.raises(VersionLocked):
        lv.merge(1, [4])
    child = root.newversion()
    child.labels("seg").merge(4, [1])
    assert root.labels("seg").size(4) == 16 * 16 * 4  # the committed parent is unchanged
    assert child.labels("seg").size(4) == 16 * 16 * 12


def test_label_counters_follow_dvids_rules(hub: Hub) -> None:
    node = hub.create_repo("counters").master
    lv = node.create_labels("seg", block_shape=(16, 16, 16))
    lv[0:1, 0:1, 0:3] = np.array([[[1, 2, 3]]], np.uint64)
    assert lv.next_labels(2) == range(4, 6)
    assert lv.maxlabel() == 5  # a reservation raises maxlabel to its end
    lv.set_maxlabel(50)
    lv.set_maxlabel(20)  # lower: nothing changes
    assert lv.maxlabel() == 50
    assert lv.next_labels(1) == range(51, 52)
    with pytest.raises(InvalidRequest, match="2\\*\\*48"):
        lv.set_maxlabel(2**48 + 1)
