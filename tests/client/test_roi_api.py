"""ROIs through the numpy API, embedded (memory, LMDB, S3) and against a real server."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

import voxhub
from voxhub import Box
from voxhub.client import Hub
from voxhub.errors import InvalidRequest, MergeConflict, NotFound, ReadOnlyError, VersionLocked
from voxhub.testing.server import ServerProcess


def test_spans_points_masks_and_versions(hub: Hub) -> None:
    node = hub.create_repo(f"roi-{uuid.uuid4().hex[:8]}").master
    roi = node.create_roi("medulla", block_size=(4, 8, 8))
    assert roi.block_shape == (4, 8, 8)
    assert roi.spans().shape == (0, 4)
    roi.set(np.array([[1, 0, 2, 3], [0, 1, -1, 0], [1, 0, 4, 4]]))
    assert roi.spans().tolist() == [[0, 1, -1, 0], [1, 0, 2, 4]]
    points = [[0, 8, -8], [0, 8, -9], [4, 0, 16], [4, 0, 40], [3, 0, 16], [7, 7, 39]]
    assert roi.contains(points).tolist() == [True, False, True, False, False, True]
    mask = roi.mask(Box((0, 0, -8), (8, 16, 48)))
    expected = np.zeros((8, 16, 56), dtype=bool)
    expected[0:4, 8:16, 0:16] = True  # block (0, 1, -1..0), x shifted by 8
    expected[4:8, 0:8, 24:48] = True  # block (1, 0, 2..4) up to the box edge
    assert np.array_equal(mask, expected)

    with pytest.raises(InvalidRequest, match="x1 < x0"):
        roi.set([[0, 0, 5, 4]])
    with pytest.raises(InvalidRequest, match="4 integers"):
        roi.set([[0, 0, 5]])
    assert roi.spans().tolist() == [[0, 1, -1, 0], [1, 0, 2, 4]]

    node.commit()
    with pytest.raises(VersionLocked):
        node.roi("medulla").set([[0, 0, 0, 0]])
    assert node.roi("medulla").contains([[0, 8, -8]]).tolist() == [True]
    child = node.newversion()
    child.roi("medulla").delete()
    assert child.roi("medulla").spans().shape == (0, 4)
    assert node.roi("medulla").spans().shape == (2, 4)
    assert child.diff(node, "medulla") == ["roi plane z=0", "roi plane z=1"]
    with pytest.raises(NotFound, match="nosuch"):
        child.roi("nosuch")


def test_a_plane_changed_on_both_branches_conflicts(hub: Hub) -> None:
    root = hub.create_repo(f"roi-{uuid.uuid4().hex[:8]}").master
    root.create_roi("r").set([[0, 0, 0, 0]])
    root.commit()
    a, b = root.newversion(), root.branch("side")
    a.roi("r").set([[0, 0, 0, 1]])
    b.roi("r").set([[0, 0, 0, 2]])
    a.commit()
    b.commit()
    with pytest.raises(MergeConflict) as caught:
        a.merge(b)
    assert caught.value.report == {"r": ["roi plane z=0"]}


def test_a_read_only_client_queries_points_but_does_not_write(
    voxhub_server: ServerProcess,
) -> None:
    """Point queries are reads (a GET with the points as body), so ``mode="r"`` may ask."""
    with voxhub.open(voxhub_server.url) as writer:
        node = writer.create_repo(f"roi-{uuid.uuid4().hex[:8]}").master
        node.create_roi("r", block_size=16).set([[0, 0, 0, 0]])
    with voxhub.open(voxhub_server.url, mode="r") as reader:
        roi = reader.node(node.uuid).roi("r")
        assert roi.contains([[0, 0, 15], [0, 0, 16]]).tolist() == [True, False]
        with pytest.raises(ReadOnlyError):
            roi.set([[0, 0, 0, 1]])
