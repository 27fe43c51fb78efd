"""The labelsz numpy-API handle, the same embedded and against a real server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pytest

import voxhub
from voxhub.client import Hub
from voxhub.errors import InvalidRequest, VersionLocked
from voxhub.testing.server import ServerProcess


@pytest.fixture(params=["memory", "remote"])
def hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    if request.param == "remote":
        server: ServerProcess = request.getfixturevalue("voxhub_server")
        with voxhub.open(server.url) as remote:
            yield remote
        return
    with voxhub.open("memory://") as h:
        yield h


def test_counts_follow_elements_and_label_mutations(hub: Hub) -> None:
    node = hub.create_repo(f"sz-{uuid.uuid4().hex[:8]}").master
    seg = node.create_labels("seg", block_shape=(8, 8, 8))
    data = np.ones((8, 8, 16), np.uint64)
    data[:, :, 8:] = 2
    seg.write((0, 0, 0), data)
    syn = node.create_annotations("syn", sync="seg", block_shape=(8, 8, 8))
    syn.add(np.array([[1, 1, 1], [1, 1, 9], [2, 2, 10]]), "PreSyn")
    sizes = node.create_labelsz("sizes", annotations="syn")  # counts what is there
    assert sizes.top(5, "PreSyn") == [(2, 2), (1, 1)]
    syn.add(np.array([[3, 3, 3]]), "PostSyn")
    assert sizes.counts([1, 2, 7], "AllSyn") == {1: 2, 2: 2, 7: 0}
    assert sizes.top(5, "AllSyn")[0].label == 1  # a tie: the smaller label first
    seg.merge(1, [2])
    assert sizes.count(1, "PreSyn") == 3
    assert sizes.threshold(1, "PreSyn") == [(1, 3)]
    assert sizes.threshold(1, "PostSyn", offset=1) == []
    with pytest.raises(InvalidRequest, match="unknown index type 'Synapses'"):
        sizes.top(3, "Synapses")
    with pytest.raises(InvalidRequest, match="no such instance"):
        node.create_labelsz("other", annotations="nothing")
    node.commit()
    with pytest.raises(VersionLocked):
        node.labelsz("sizes").reload()


def test_a_live_roi_limits_the_counts_embedded_and_remote(hub: Hub) -> None:
    node = hub.create_repo(f"sz-{uuid.uuid4().hex[:8]}").master
    node.create_labels("seg", block_shape=(16, 16, 16)).write(
        (0, 0, 0), np.ones((16, 16, 32), np.uint64)
    )
    syn = node.create_annotations("syn", sync="seg", block_shape=(16, 16, 16))
    syn.add(np.array([[1, 1, 1], [1, 1, 20]]), "PreSyn")
    area = node.create_roi("area", block_size=16)
    inside = node.create_labelsz("inside", annotations="syn", roi="area")  # live
    assert inside.top(5, "PreSyn") == []
    area.set([[0, 0, 1, 1]])  # x 16..31: the second element
    assert inside.top(5, "PreSyn") == [(1, 1)]
    area.set([[0, 0, 0, 1]])
    assert inside.count(1, "PreSyn") == 2
