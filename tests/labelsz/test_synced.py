"""labelsz through the real annotation and labelmap: after any sequence of element
writes, moves and deletes, voxel writes, merges and cleaves, ROI replacements and
deletions, at every node of a branched DAG and at merges of versions, the counts (also
those limited to a live ROI) equal a recount from the elements, the voxels and the ROI."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import voxhub
from voxhub import Box
from voxhub.client import Hub, Node
from voxhub.datatypes.labelsz.keys import KINDS, SYNAPTIC

SIDE = 16
FULL = Box((0, 0, 0), (SIDE, SIDE, SIDE))
ELEMENT_KINDS = ["PreSyn", "PostSyn", "Gap", "Note"]


def first_segmentation() -> np.ndarray:
    """Four supervoxels, one per quadrant of y and x (each its own body)."""
    data = np.zeros((SIDE, SIDE, SIDE), np.uint64)
    half = SIDE // 2
    data[:, :half, :half], data[:, :half, half:] = 1, 2
    data[:, half:, :half], data[:, half:, half:] = 3, 4
    return data


def make(hub: Hub) -> Node:
    node = hub.create_repo().master
    node.create_labels("seg", block_shape=(8, 8, 8)).write((0, 0, 0), first_segmentation())
    node.create_annotations("syn", sync="seg", block_shape=(8, 8, 8))
    node.create_roi("area", block_size=8).set([[0, 0, 0, 1], [1, 1, 1, 1]])
    return node


def recount(node: Node, roi: str | None = None) -> dict[str, dict[int, int]]:
    """``{kind: {body: count}}`` from the elements and the voxels at ``node`` (inside
    the ROI ``roi`` there, if given)."""
    found = node.annotations("syn").all()
    bodies = node.labels("seg").read(FULL)
    positions = found.positions.astype(np.int64)
    at = bodies[tuple(positions.T)] if len(found) else []
    inside = node.roi(roi).contains(positions) if roi else np.ones(len(found), bool)
    per: dict[str, Counter[int]] = {kind: Counter() for kind in KINDS}
    for kind, body, keep in zip(found.kinds, np.asarray(at).tolist(), inside, strict=True):
        if body and kind in per and keep:
            per[kind][body] += 1
            if kind in SYNAPTIC:
                per["AllSyn"][body] += 1
    return {kind: dict(c) for kind, c in per.items()}


def check(node: Node, name: str = "sizes", roi: str | None = None) -> None:
    sizes = node.labelsz(name)
    for kind, want in recount(node, roi).items():
        ranked = sorted(want.items(), key=lambda bc: (-bc[1], bc[0]))
        assert [tuple(r) for r in sizes.top(100, kind)] == ranked, (name, kind)
        assert sizes.counts([1, 2, 3, 4, 9], kind) == {b: want.get(b, 0) for b in (1, 2, 3, 4, 9)}


def check_all(node: Node) -> None:
    check(node)
    check(node, "inroi", roi="area")  # follows the ROI live


block = st.integers(0, 1)
spans = st.lists(st.tuples(block, block, block, block), max_size=3)


point = st.tuples(*[st.integers(0, SIDE - 1)] * 3)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), point, st.sampled_from(ELEMENT_KINDS)),
        st.tuples(st.just("move"), st.integers(0, 99), point),
        st.tuples(st.just("delete"), st.integers(0, 99)),
        st.tuples(st.just("merge"), st.integers(0, 9), st.integers(0, 9)),
        st.tuples(st.just("cleave"), st.integers(0, 9)),
        st.tuples(st.just("paint"), point, st.sampled_from([1, 2, 3, 4, 9])),
        st.tuples(st.just("roi"), spans),
        st.tuples(st.just("unroi")),
        st.tuples(st.just("branch")),
    ),
    max_size=14,
)


def apply(node: Node, op: tuple[Any, ...]) -> None:
    syn, seg = node.annotations("syn"), node.labels("seg")
    positions = sorted(tuple(p) for p in syn.all().positions.tolist())
    bodies = seg.labels()
    if op[0] == "add":
        syn.add(np.array([op[1]]), op[2])
    elif op[0] == "move" and positions:
        src = positions[op[1] % len(positions)]
        if op[2] not in positions:
            syn.move(src, op[2])
    elif op[0] == "delete" and positions:
        syn.delete(positions[op[1] % len(positions)])
    elif op[0] == "merge" and len(bodies) > 1:
        a, b = bodies[op[1] % len(bodies)], bodies[op[2] % len(bodies)]
        if a != b:
            seg.merge(a, [b])
    elif op[0] == "cleave":
        for body in bodies[op[1] % max(len(bodies), 1) :] + bodies:
            svs = seg.supervoxels(body)
            if len(svs) > 1:
                seg.cleave(body, svs[:1])
                break
    elif op[0] == "paint":
        z, y, x = (min(v, SIDE - 4) for v in op[1])
        seg.write((z, y, x), np.full((4, 4, 4), op[2], np.uint64))
    elif op[0] == "roi":
        node.roi("area").set([[z, y, x, max(x, x1)] for z, y, x, x1 in op[1]])
    elif op[0] == "unroi":
        node.roi("area").delete()


@settings(max_examples=12, deadline=None)
@given(program=ops, later=st.booleans())
def test_counts_equal_a_recount_at_every_node(program: list[tuple[Any, ...]], later: bool) -> None:
    with voxhub.open("memory://") as hub:
        node = make(hub)
        if not later:  # made before the elements, or after (then counted at creation)
            node.create_labelsz("sizes", annotations="syn")
            node.create_labelsz("inroi", annotations="syn", roi="area")
        syn = node.annotations("syn")
        syn.add(np.array([[1, 1, 1], [2, 9, 9], [3, 12, 3]]), "PreSyn")
        syn.add(np.array([[4, 4, 12], [9, 9, 9]]), "PostSyn")
        if later:
            node.create_labelsz("sizes", annotations="syn")
            node.create_labelsz("inroi", annotations="syn", roi="area")
        committed = []
        for op in program:
            if op[0] == "branch":
                check_all(node)
                committed.append(node)
                node = node.commit().newversion()
                continue
            apply(node, op)
        check_all(node)
        for old in committed:  # committed nodes kept their counts
            check_all(old)


def test_a_merge_of_versions_recounts_at_the_merge_node() -> None:
    with voxhub.open("memory://") as hub:
        root = make(hub)
        root.create_labelsz("sizes", annotations="syn")
        root.annotations("syn").add(np.array([[1, 1, 1], [1, 1, 12]]), "PreSyn")
        root.commit()
        side_a, side_b = root.newversion(), root.branch("b")
        side_a.annotations("syn").add(np.array([[2, 2, 2], [2, 2, 13]]), "PreSyn")
        side_b.labels("seg").merge(1, [2])  # a label mutation on the other side
        side_a.commit()
        side_b.commit()
        merged = side_a.merge(side_b)
        assert merged.labelsz("sizes").top(3, "PreSyn") == [(1, 4)]  # no parent had it
        check(merged)


def test_a_live_roi_changed_at_any_version_recounts_and_merges_recount() -> None:
    with voxhub.open("memory://") as hub:
        root = make(hub)
        inroi = root.create_labelsz("inroi", annotations="syn", roi="area")
        root.annotations("syn").add(np.array([[1, 1, 1], [9, 9, 9], [1, 12, 1]]), "PreSyn")
        assert inroi.top(5, "PreSyn") == [(1, 1), (4, 1)]  # (1, 12, 1) is outside
        root.roi("area").set([[0, 0, 0, 1]])  # replaced: (9, 9, 9) is outside now
        assert inroi.top(5, "PreSyn") == [(1, 1)]
        root.commit()
        side_a, side_b = root.newversion(), root.branch("b")
        side_a.roi("area").delete()  # one side drops the ROI, the other adds elements
        assert side_a.labelsz("inroi").top(5, "PreSyn") == []
        assert side_b.labelsz("inroi").top(5, "PreSyn") == [(1, 1)]
        side_b.annotations("syn").add(np.array([[2, 2, 2]]), "PreSyn")
        side_a.commit()
        side_b.commit()
        merged = side_a.merge(side_b)
        check(merged, "inroi", roi="area")
        assert merged.labelsz("inroi").top(5, "PreSyn") == []  # the merged ROI is empty
        after = merged  # open: takes writes
        after.roi("area").set([[0, 0, 0, 1]])
        assert after.labelsz("inroi").top(5, "PreSyn") == [(1, 2)]
        check(after, "inroi", roi="area")
        assert root.labelsz("inroi").top(5, "PreSyn") == [(1, 1)]  # committed
