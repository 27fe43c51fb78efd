"""roi spans across versions: committed nodes, diffs and merge conflicts name planes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.merge import merge_nodes
from voxhub.datatypes.roi import keys
from voxhub.datatypes.roi.instance import RoiInstance, open_roi
from voxhub.datatypes.roi.spans import check_spans
from voxhub.errors import InvalidRequest, MergeConflict, NotFound, VersionLocked
from voxhub.service import Service
from voxhub.service.doctor import check_values
from voxhub.storage import open_store


def put(roi: RoiInstance, spans: list[list[int]]) -> None:
    """What POST roi does: check the spans, then replace."""
    roi.set(check_spans(spans))


@pytest.fixture
def service() -> Service:
    return Service(open_store("memory://"))


def _repo(service: Service) -> str:
    root = service.catalog.create_repo("r").root
    service.catalog.create_instance(root, "med", "roi", {"block_shape": [8, 8, 8]})
    return root


def test_replace_writes_only_changed_planes_and_diff_names_them(service: Service) -> None:
    root = _repo(service)
    put(open_roi(service, root, "med"), [[0, 0, 0, 3], [1, 0, 0, 0], [2, 5, 1, 1]])
    service.catalog.commit(root)
    child = service.catalog.newversion(root).uuid
    roi = open_roi(service, child, "med")
    put(roi, [[0, 0, 0, 3], [1, 0, 0, 1], [3, 0, 0, 0]])  # plane 1 changed, 2 gone, 3 new
    assert service.diff_keys(root, child, "med") == [
        "roi plane z=1",
        "roi plane z=2",
        "roi plane z=3",
    ]
    assert open_roi(service, root, "med").spans().tolist() == [
        [0, 0, 0, 3],
        [1, 0, 0, 0],
        [2, 5, 1, 1],
    ]
    roi.delete()
    assert roi.spans().shape == (0, 4)
    assert open_roi(service, root, "med").contains([[16, 40, 8]]).tolist() == [True]


def test_committed_nodes_refuse_writes_but_answer_queries(service: Service) -> None:
    root = _repo(service)
    roi = open_roi(service, root, "med")
    put(roi, [[0, 0, 0, 0]])
    service.catalog.commit(root)
    locked = open_roi(service, root, "med")
    with pytest.raises(VersionLocked):
        put(locked, [[0, 0, 0, 5]])
    with pytest.raises(VersionLocked):
        locked.delete()
    assert locked.contains([[0, 0, 0], [0, 0, 8]]).tolist() == [True, False]
    assert locked.spans().tolist() == [[0, 0, 0, 0]]


def test_bad_spans_store_nothing(service: Service) -> None:
    root = _repo(service)
    roi = open_roi(service, root, "med")
    put(roi, [[0, 0, 0, 0]])
    with pytest.raises(InvalidRequest, match="x1 < x0"):
        put(roi, [[1, 1, 1, 1], [2, 0, 4, 3]])
    assert roi.spans().tolist() == [[0, 0, 0, 0]]


def test_a_plane_changed_on_both_sides_is_a_merge_conflict(service: Service) -> None:
    root = _repo(service)
    put(open_roi(service, root, "med"), [[0, 0, 0, 0], [5, 0, 0, 0]])
    service.catalog.commit(root)
    a = service.catalog.newversion(root).uuid
    b = service.catalog.branch(root, "side").uuid
    put(open_roi(service, a, "med"), [[0, 0, 0, 1], [5, 0, 0, 0], [7, 0, 0, 0]])
    put(open_roi(service, b, "med"), [[0, 0, 0, 2], [5, 0, 0, 0], [9, 0, 0, 0]])
    service.catalog.commit(a)
    service.catalog.commit(b)
    with pytest.raises(MergeConflict) as caught:
        merge_nodes(service.catalog, [a, b])
    assert caught.value.report == {"med": ["roi plane z=0"]}


def test_different_planes_on_two_sides_merge(service: Service) -> None:
    root = _repo(service)
    put(open_roi(service, root, "med"), [[0, 0, 0, 0]])
    service.catalog.commit(root)
    a = service.catalog.newversion(root).uuid
    b = service.catalog.branch(root, "side").uuid
    put(open_roi(service, a, "med"), [[0, 0, 0, 0], [1, 0, 0, 0]])
    put(open_roi(service, b, "med"), [[0, 0, 0, 0], [2, 0, 0, 0]])
    service.catalog.commit(a)
    service.catalog.commit(b)
    child = merge_nodes(service.catalog, [a, b]).uuid
    spans = open_roi(service, child, "med").spans()
    assert np.array_equal(spans, [[0, 0, 0, 0], [1, 0, 0, 0], [2, 0, 0, 0]])


def test_opening_a_missing_or_wrong_instance(service: Service) -> None:
    root = _repo(service)
    service.catalog.create_instance(root, "gray", "uint8blk", {})
    with pytest.raises(NotFound, match="nope"):
        open_roi(service, root, "nope")
    with pytest.raises(InvalidRequest, match="not an roi"):
        open_roi(service, root, "gray")


def test_doctor_reads_every_plane_and_names_a_corrupt_one(service: Service) -> None:
    root = _repo(service)
    put(open_roi(service, root, "med"), [[0, 0, 0, 3], [1, 2, 0, 400], [1, 3, 7, 9]])
    info = service.catalog.instance(root, "med")
    repo = service.catalog.repo(root)
    assert check_values(service, repo, info) == (2, [])
    bad = keys.encode_row(np.array([[0, 5, 4]]))
    service.catalog.view(root, "med").put_many([(keys.row_key(1), bad)])
    count, found = check_values(service, repo, info)
    assert count == 2
    assert [f.problem.message for f in found] == [
        "roi plane z=1 holds no spans or a span with x1 < x0"
    ]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["set", "delete", "commit-and-branch"]),
            st.lists(
                st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 5)),
                max_size=4,
            ),
        ),
        max_size=8,
    )
)
def test_every_node_reads_what_was_last_set_on_its_own_path(
    steps: list[tuple[str, list[tuple[int, int, int]]]],
) -> None:
    """At every node of a growing DAG, the spans read are those of the last set or delete
    on the path from the root; committed ancestors keep theirs."""
    service = Service(open_store("memory://"))
    current = _repo(service)
    expected: dict[str, list[list[int]]] = {current: []}
    for op, cells in steps:
        roi = open_roi(service, current, "med")
        if op == "set":
            spans = [[z, y, x, x + 1] for z, y, x in cells]
            put(roi, spans)
            expected[current] = check_spans(spans).tolist()
        elif op == "delete":
            roi.delete()
            expected[current] = []
        else:
            service.catalog.commit(current)
            child = service.catalog.branch(current, f"b{len(expected)}").uuid
            expected[child] = expected[current]
            current = child
        for node, spans in expected.items():
            assert open_roi(service, node, "med").spans().tolist() == spans
