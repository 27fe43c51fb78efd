"""The neuronjson numpy-API handle, the same on memory, LMDB, S3 and a real server."""

from __future__ import annotations

import uuid

import pytest

from voxhub.client import Hub
from voxhub.errors import InvalidRequest, MergeConflict, NotFound, VersionLocked


def _alias() -> str:
    return f"flies-{uuid.uuid4().hex[:8]}"


def test_documents_as_a_mapping_with_stamps_and_queries(hub: Hub) -> None:
    node = hub.create_repo(_alias()).master
    nj = node.create_neuronjson("neurons", user="alice")
    nj[101] = {"type": "KC", "status": "Traced", "size": 5}
    nj[202] = {"bodyid": 202, "type": "MBON", "status": "Leaves", "size": 2.5}
    nj.update(101, {"status": "Roughly traced", "size": None})
    assert nj[101] == {"bodyid": 101, "type": "KC", "status": "Roughly traced"}
    assert 101 in nj
    assert 303 not in nj
    assert list(nj) == [101, 202]
    assert len(nj) == 2
    assert nj.get(303) is None
    bob = node.neuronjson("neurons", user="bob")
    bob.update(202, {"type": "MBON", "status": "Traced"})  # type unchanged: keeps alice's stamp
    shown = nj.get(202, fields=["type", "status"], show="user")
    assert shown == {
        "bodyid": 202,
        "type": "MBON",
        "type_user": "alice",
        "status": "Traced",
        "status_user": "bob",
    }
    assert nj.query({"status": "re/[Tt]raced$"}, fields=["type"]) == [
        {"bodyid": 101, "type": "KC"},
        {"bodyid": 202, "type": "MBON"},
    ]
    assert nj.query_ids([{"size": "range/2/3"}, {"type": "KC"}]) == [101, 202]
    assert nj.all(fields=["size"]) == [{"bodyid": 202, "size": 2.5}]
    assert nj.keyrange(150, 300) == [202]
    assert nj.keyrange_values(0, 150) == {101: nj[101]}
    assert nj.get_many([202, 7]) == {202: nj[202]}
    assert nj.field_counts()["type"] == 2
    assert "status_user" in nj.fields()
    assert set(nj.field_times()) == {"type", "status", "size"}
    frame = nj.dataframe(fields=["type", "status"])
    assert list(frame.index) == [101, 202]
    assert frame.loc[202, "status"] == "Traced"
    assert nj.dataframe(query={"type": "nobody"}).empty
    nj.set_schema({"type": "object"})
    assert nj.schema() == {"type": "object"}
    assert nj.schema("schema_batch") is None
    del nj[101]
    assert list(nj) == [202]


def test_the_same_exceptions_everywhere(hub: Hub) -> None:
    node = hub.create_repo(_alias()).master
    nj = node.create_neuronjson("neurons", user="alice")
    nj[5] = {"type": "KC"}
    with pytest.raises(NotFound, match="body 6"):
        nj[6]
    with pytest.raises(KeyError):
        del nj[6]
    with pytest.raises(InvalidRequest, match="reserved"):
        nj[0] = {"a": 1}
    with pytest.raises(InvalidRequest, match="does not match its key 5"):
        nj[5] = {"bodyid": 6}
    with pytest.raises(InvalidRequest, match="must be a JSON object"):
        nj.update(5, [1, 2])  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="bad regex"):
        nj.query({"type": "re/(("})
    with pytest.raises(InvalidRequest, match="document of body 8"):
        nj.update_many({7: {"t": 1}, 8: "x"})  # type: ignore[dict-item]
    assert list(nj) == [5]  # the batch stored nothing
    with pytest.raises(InvalidRequest, match="not a neuronjson"):
        node.create_labels("seg") and node.neuronjson("seg")
    node.commit()
    with pytest.raises(VersionLocked):
        nj[5] = {"type": "MBON"}
    assert nj.query_ids({"type": "KC"}) == [5]  # queries still run on committed nodes


def test_versions_diff_and_merge_conflicts_name_bodies(hub: Hub) -> None:
    repo = hub.create_repo(_alias())
    root = repo.master
    nj = root.create_neuronjson("neurons", user="alice")
    nj.update_many({1: {"t": "a"}, 2: {"t": "b"}, 3: {"t": "c"}})
    root.commit()
    left, right = root.newversion(), root.branch("proofread")
    left.neuronjson("neurons").update(1, {"t": "left"})
    right.neuronjson("neurons").update(1, {"t": "right"})
    right.neuronjson("neurons").update(3, {"u": 1})
    del left.neuronjson("neurons")[2]
    assert left.diff(root, "neurons") == ["1", "2"]
    assert root.neuronjson("neurons")[2] == {"bodyid": 2, "t": "b"}
    left.commit()
    right.commit()
    with pytest.raises(MergeConflict) as info:
        repo.merge(left, right)
    assert info.value.report == {"neurons": ["1"]}
    merged = repo.merge(left, right, resolve=True).neuronjson("neurons")
    assert merged.all() == [{"bodyid": 1, "t": "left"}, {"bodyid": 3, "t": "c", "u": 1}]
