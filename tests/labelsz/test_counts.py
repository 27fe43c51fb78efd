"""labelsz storage: after any sequence of element changes, each recounted for the bodies
it touched, count/counts/top/threshold equal a recount from the elements (at every node
of a small DAG), with and without an ROI."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.labelsz.instance import LabelszInstance
from voxhub.datatypes.labelsz.keys import describe_tkey
from voxhub.datatypes.labelsz.recount import counted_bodies, recount
from voxhub.errors import InvalidRequest
from voxhub.storage import MemoryStore
from voxhub.versioning.catalog import Catalog

from .fakes import ALL_KINDS, FakeElements, FakeRoi

BODIES = [0, 1, 2, 3, 7, 2**63 + 5]
ELEMENT_KINDS = ["PostSyn", "PreSyn", "Gap", "Note", "Unknown"]

ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "move", "branch"]),
        st.sampled_from(BODIES),
        st.sampled_from(BODIES),
        st.sampled_from(ELEMENT_KINDS),
        st.integers(0, 9),
    ),
    max_size=25,
)


def ranked(counts: dict[int, int]) -> list[tuple[int, int]]:
    return sorted(counts.items(), key=lambda bc: (-bc[1], bc[0]))


def check(instance: LabelszInstance, fake: FakeElements, roi: FakeRoi | None) -> None:
    inside = roi.inside if roi is not None else None
    for kind in ALL_KINDS:
        want = fake.expected(kind, inside)
        assert instance.counts(BODIES, kind) == [want.get(b, 0) for b in BODIES]
        assert instance.top(100, kind) == ranked(want)
        assert instance.top(2, kind) == ranked(want)[:2]
        assert instance.threshold(2, kind) == [bc for bc in ranked(want) if bc[1] >= 2]
        assert instance.threshold(0, kind, offset=1, n=2) == ranked(want)[1:3]


@settings(max_examples=40, deadline=None)
@given(program=ops, with_roi=st.booleans())
def test_counts_equal_a_recount_at_every_node(program: list[Any], with_roi: bool) -> None:
    catalog = Catalog(MemoryStore())
    node = catalog.create_repo().root
    catalog.create_instance(node, "sizes", "labelsz", {})
    roi = FakeRoi(5) if with_roi else None
    fake = FakeElements()
    seen: list[tuple[str, FakeElements]] = []
    for op, body, other, kind, z in program:
        view = catalog.view(node, "sizes")
        elements = fake.bodies_elements
        if op == "branch":  # commit: the node keeps its counts; go on at a child
            seen.append((node, FakeElements({b: list(e) for b, e in elements.items()})))
            catalog.commit(node)
            node = catalog.newversion(node).uuid
            continue
        touched = {body}
        if op == "add":
            elements.setdefault(body, []).append((kind, (z, z, z)))
        elif elements.get(body):
            moved = elements[body].pop(z % len(elements[body]))
            if op == "move":
                elements.setdefault(other, []).append(moved)
                touched.add(other)
        view.transact(lambda txn, t=touched: recount(txn, fake, t, roi))
    for at, state in [*seen, (node, fake)]:
        check(LabelszInstance(catalog.view(at, "sizes"), "sizes"), state, roi)
    counted = catalog.view(node, "sizes").transact(counted_bodies)
    inside = roi.inside if roi is not None else None
    assert counted == {b for k in ALL_KINDS for b in fake.expected(k, inside)}


def test_bad_queries_are_400_naming_what_was_wrong() -> None:
    catalog = Catalog(MemoryStore())
    node = catalog.create_repo().root
    catalog.create_instance(node, "sizes", "labelsz", {})
    instance = LabelszInstance(catalog.view(node, "sizes"), "sizes")
    with pytest.raises(InvalidRequest, match="unknown index type 'Synapse'"):
        instance.top(3, "Synapse")
    with pytest.raises(InvalidRequest, match="'Voxels' is not counted"):
        instance.count(1, "Voxels")
    with pytest.raises(InvalidRequest, match="N must be a non-negative"):
        instance.top(-1, "PreSyn")
    with pytest.raises(InvalidRequest, match="label must be an unsigned 64-bit"):
        instance.counts([1, 2**64], "PreSyn")
    assert instance.top(0, "PreSyn") == []


def test_keys_are_described() -> None:
    from voxhub.datatypes.labelsz.keys import count_key, rank_key

    assert describe_tkey(count_key(2, 12)) == "count PreSyn of body 12"
    assert describe_tkey(rank_key(5, 3, 12)) == "rank AllSyn of body 12 (3)"


def test_a_static_roi_limits_the_counts_to_its_voxels() -> None:
    import voxhub
    from voxhub.datatypes.labelsz.recount import on_element_change

    with voxhub.open("memory://") as hub:
        root = hub.create_repo().master
        root.create_roi("medulla", block_size=8).set([[0, 0, 0, 1]])  # z, y < 8, x < 16
        root.commit()
        node = root.newversion()
        sizes = node.create_labelsz("sizes", roi=("medulla", root))
        inside = [("PreSyn", (1, 1, 1)), ("PreSyn", (7, 7, 15)), ("Gap", (0, 0, 9))]
        outside = [("PreSyn", (8, 1, 1)), ("PreSyn", (1, 1, 16)), ("Gap", (1, 9, 1))]
        fake = FakeElements({5: inside + outside, 6: outside})
        service = hub.service  # type: ignore[attr-defined]
        info = hub.catalog.instance(node.uuid, "sizes")
        view = hub.catalog.view(node.uuid, "sizes")
        bodies = frozenset({5, 6})
        view.transact(lambda txn: on_element_change(txn, info, fake, bodies, service, node.uuid))
        assert sizes.counts([5, 6], "PreSyn") == {5: 2, 6: 0}
        assert sizes.top(5, "AllSyn") == [(5, 3)]
        node.create_labelsz("other", roi=("medulla", node))  # an open version: live
        live = hub.catalog.instance(node.uuid, "other").config
        assert live == {"sync": ["medulla"]}
