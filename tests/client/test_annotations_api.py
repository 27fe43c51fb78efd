"""The annotation API is the same embedded (memory, LMDB) and remote (a real server):
same results, same exceptions."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from voxhub.client import Hub
from voxhub.errors import InvalidRequest, NotFound, VersionLocked


def test_annotations_round_trip_and_follow_the_labels(hub: Hub) -> None:
    node = hub.create_repo(f"ann-{uuid.uuid4().hex[:8]}").master
    seg = np.zeros((16, 16, 32), np.uint64)
    seg[..., :16], seg[..., 16:] = 1, 2
    lv = node.create_labels("seg", block_shape=(16, 16, 16))
    lv[0:16, 0:16, 0:32] = seg
    ann = node.create_annotations("syn", sync="seg", block_shape=(16, 16, 16))
    pre = {"Pos": [1, 2, 3], "Kind": "PreSyn", "Tags": ["t"], "Prop": {"conf": "0.9"}}
    pre["Rels"] = [{"Rel": "PreSynTo", "To": [20, 2, 3]}]
    post = {"Pos": [20, 2, 3], "Kind": "PostSyn", "Rels": [{"Rel": "PostSynTo", "To": [1, 2, 3]}]}
    assert ann.add([pre, post]) == 2
    assert ann.add(np.array([[5, 5, 5], [6, 6, 30]]), "Note") == 2  # zyx positions
    found = ann.elements(((0, 0, 0), (16, 16, 32)))  # block by block
    assert found.positions.tolist() == [[3, 2, 1], [5, 5, 5], [3, 2, 20], [6, 6, 30]]
    assert found.kinds == ["PreSyn", "Note", "PostSyn", "Note"]
    assert found.to_dicts()[0] == {**pre}
    assert ann.label(1).positions.tolist() == [[3, 2, 1], [5, 5, 5]]
    assert ann.counts(2) == {"PostSyn": 1, "Note": 1}
    assert [d["Pos"] for d in ann.tag("t")] == [[1, 2, 3]]
    lv.merge(1, [2])
    assert len(ann.label(1)) == 4
    assert len(ann.label(2)) == 0
    ann.move((3, 2, 20), (4, 2, 20))
    assert ann.label(1).relationships()[0] == ((3, 2, 1), "PreSynTo", (4, 2, 20))
    ann.delete((4, 2, 20))
    assert ann.all().to_dicts()[0]["Rels"] == []
    frame = ann.all().to_dataframe()
    assert list(frame.columns) == ["z", "y", "x", "kind", "tags", "prop", "rels"]
    assert frame["kind"].tolist() == ["PreSyn", "Note", "Note"]
    assert {b: len(e) for b, e in ann.labels([1, 2]).items()} == {1: 3, 2: 0}


def test_same_exceptions_everywhere(hub: Hub) -> None:
    node = hub.create_repo(f"ann-{uuid.uuid4().hex[:8]}").master
    ann = node.create_annotations("syn")
    with pytest.raises(InvalidRequest, match="no Pos"):
        ann.add([{"Kind": "Note"}])
    with pytest.raises(InvalidRequest, match=r"\[7, 7, 7\]"):
        ann.add([{"Pos": [1, 1, 1], "Rels": [{"Rel": "PreSynTo", "To": [7, 7, 7]}]}])
    with pytest.raises(InvalidRequest, match="no element"):
        ann.delete((1, 1, 1))
    with pytest.raises(InvalidRequest, match="not synced"):
        ann.label(1)
    with pytest.raises(NotFound):
        node.create_annotations("other", sync="nothing")
    with pytest.raises(NotFound):
        node.annotations("missing")
    ann.add([{"Pos": [1, 1, 1]}])
    node.commit()
    with pytest.raises(VersionLocked):
        node.annotations("syn").add([{"Pos": [2, 2, 2]}])
    assert len(node.annotations("syn").all()) == 1
