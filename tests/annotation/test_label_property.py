"""Property: after any sequence of element writes, moves, deletes and label mutations
(voxel writes, merges, cleaves) at the nodes of a branched DAG, ``label(body)`` equals a
recount from the elements and the voxels, and no relationship points at nothing."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voxhub
from voxhub.client import Node
from voxhub.errors import InvalidRequest, NotFound

SIDE = 16  # a 16³ volume of 8³ blocks, 4 supervoxels (x and y halves)
coord = st.integers(0, SIDE - 1)
point = st.tuples(coord, coord, coord)
op = st.one_of(
    st.tuples(st.just("add"), st.lists(point, min_size=1, max_size=4), st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("move"), st.integers(0, 50), point),
    st.tuples(st.just("write"), point, st.integers(1, 6)),
    st.tuples(st.just("merge"), st.integers(1, 6), st.integers(1, 6)),
    st.tuples(st.just("cleave"), st.integers(1, 6), st.integers(1, 6)),
    st.tuples(st.just("newversion"), st.booleans()),
    st.tuples(st.just("mergenodes")),
    st.tuples(st.just("switch")),  # go on working on the newest sibling branch
)


def check(node: Node) -> None:
    ann, lv = node.annotations("syn"), node.labels("seg")
    everything = ann.all()
    pos = everything.positions
    bodies = lv[0:SIDE, 0:SIDE, 0:SIDE][pos[:, 0], pos[:, 1], pos[:, 2]] if len(pos) else []
    expected: dict[int, list[list[int]]] = {}
    for p, b in zip(pos.tolist(), np.asarray(bodies).tolist(), strict=True):
        if b:
            expected.setdefault(b, []).append(p)
    for body in set(range(1, 7)) | set(expected):
        assert sorted(ann.label(body).positions.tolist()) == sorted(expected.get(body, [])), body
    held = {tuple(p) for p in pos.tolist()}
    for _, _, to in everything.relationships():
        assert tuple(to) in held


def apply(node: Node, step: tuple[Any, ...]) -> None:
    ann, lv = node.annotations("syn"), node.labels("seg")
    stored = ann.all().positions.tolist()
    kind = step[0]
    if kind == "add":
        points, related = step[1], step[2]
        items: list[dict[str, Any]] = [{"Pos": list(p[::-1]), "Kind": "PostSyn"} for p in points]
        if related and stored:  # a PreSyn-like first element pointing at a stored one
            items[0]["Rels"] = [{"Rel": "PreSynTo", "To": stored[0][::-1]}]
        ann.add(items)
    elif kind in ("delete", "move") and stored:
        target = stored[step[1] % len(stored)]
        if kind == "delete":
            ann.delete(target)
        elif list(step[2]) not in stored:
            ann.move(target, step[2])
    elif kind == "write":
        z, y, x = step[1]
        lv[z : z + 3, y : y + 3, x : x + 3] = np.full((3, 3, 3), step[2], np.uint64)[
            : SIDE - z, : SIDE - y, : SIDE - x
        ]
    elif kind == "merge" and step[1] != step[2]:
        lv.merge(step[1], [step[2]])
    elif kind == "cleave":
        lv.cleave(step[1], [step[2]])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=10))
def test_label_views_equal_a_recount(steps: list[tuple[Any, ...]]) -> None:
    with voxhub.open("memory://") as hub:
        node = hub.create_repo("p").master
        seg = np.zeros((SIDE, SIDE, SIDE), np.uint64)
        seg[:, : SIDE // 2, : SIDE // 2], seg[:, : SIDE // 2, SIDE // 2 :] = 1, 2
        seg[:, SIDE // 2 :, : SIDE // 2], seg[:, SIDE // 2 :, SIDE // 2 :] = 3, 4
        node.create_labels("seg", block_shape=(8, 8, 8))[0:SIDE, 0:SIDE, 0:SIDE] = seg
        node.create_annotations("syn", sync="seg", block_shape=(8, 8, 8))
        others: list[Node] = []
        for i, step in enumerate(steps):
            if step[0] == "newversion":
                node.commit()
                sibling = node.branch(f"b{i}") if step[1] else None
                if sibling is not None:
                    others.append(sibling)
                node = node.newversion()
            elif step[0] == "switch" and others:
                node, others[-1] = others[-1], node
            elif step[0] == "mergenodes" and others:
                other = others.pop()
                other.commit()
                node.commit()
                node = node.merge(other, resolve=True)
            else:  # a refused mutation (a body with no voxels...) changes nothing
                with contextlib.suppress(InvalidRequest, NotFound):
                    apply(node, step)
            check(node)
