"""The tag index through the real app: after any sequence of element writes (with and
without tags), moves and deletes at any node of a branched DAG and at merges of
versions, ``GET tag/{tag}`` equals the elements a scan finds carrying the tag; it reads
the tag's index, never every block, and elements without tags add no index key."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning

from voxhub.client import EmbeddedHub, Node
from voxhub.datatypes.annotation import stored
from voxhub.datatypes.annotation.keys import MAX_TAG_BYTES, TAGS, class_range
from voxhub.server import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

TAG_NAMES = ["pre", "post", "checked", "x\x00y"]
SIDE = 40


def by_scan(node: Node, tag: str) -> list[list[int]]:
    """The positions ([x, y, z]) of the elements carrying ``tag``, from every element."""
    return sorted(e["Pos"] for e in node.annotations("syn").all() if tag in e["Tags"])


def by_route(client: TestClient, node: Node, tag: str) -> list[list[int]]:
    r = client.get(f"/api/node/{node.uuid}/syn/tag/{tag}")
    assert r.status_code == 200, r.text
    return sorted(e["Pos"] for e in r.json())


def check(client: TestClient, node: Node) -> None:
    for tag in TAG_NAMES[:3]:  # a NUL cannot travel in a URL path; checked in Python
        assert by_route(client, node, tag) == by_scan(node, tag), tag
    for tag in TAG_NAMES:
        found = sorted(e["Pos"] for e in node.annotations("syn").tag(tag))
        assert found == by_scan(node, tag), tag


point = st.lists(st.integers(0, SIDE - 1), min_size=3, max_size=3)
tags = st.lists(st.sampled_from(TAG_NAMES), max_size=2)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.tuples(point, tags), min_size=1, max_size=4)),
        st.tuples(st.just("move"), st.integers(0, 99), point),
        st.tuples(st.just("delete"), st.integers(0, 99)),
        st.tuples(st.just("branch")),
    ),
    max_size=10,
)


def apply(node: Node, op: tuple[Any, ...]) -> None:
    syn = node.annotations("syn")
    positions = sorted(e["Pos"] for e in syn.all())
    if op[0] == "add":
        syn.add([{"Pos": p, "Kind": "Note", "Tags": t} for p, t in op[1]])
    elif op[0] == "move" and positions:
        src = positions[op[1] % len(positions)]
        if op[2] not in positions:
            syn.move(src[::-1], op[2][::-1])  # the Python API takes (z, y, x)
    elif op[0] == "delete" and positions:
        syn.delete(positions[op[1] % len(positions)][::-1])


@settings(max_examples=10, deadline=None)
@given(program=ops, side=ops)
def test_tag_queries_equal_a_scan_at_every_node_and_merge(
    program: list[tuple[Any, ...]], side: list[tuple[Any, ...]]
) -> None:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("tags").master
    node.create_annotations("syn", block_shape=(16, 16, 16))
    node.annotations("syn").add([{"Pos": [1, 2, 3], "Kind": "Note", "Tags": ["pre"]}])
    with TestClient(create_app(hub)) as client:
        committed = []
        for op in program:
            if op[0] == "branch":
                committed.append(node)
                node = node.commit().newversion()
            else:
                apply(node, op)
            check(client, node)
        node.commit()
        left, right = node.newversion(), node.branch("side")
        for op in side:  # left only adds far away: no element changed on both sides
            if op[0] == "add":
                op = ("add", [([p[0] + SIDE, p[1], p[2]], t) for p, t in op[1]])
            if op[0] != "branch":
                apply(right, op)
        apply(left, ("add", [([SIDE * 3, 0, 0], ["checked", "pre"])]))
        apply(right, ("add", [([SIDE * 3 + 1, 0, 0], ["pre"])]))  # both: one tag key
        left.commit()
        right.commit()
        merged = left.merge(right)
        check(client, merged)
        for old in committed:
            check(client, old)
    hub.close()


def test_a_tag_query_reads_no_other_block_and_untagged_writes_add_no_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("tags").master
    syn = node.create_annotations("syn", block_shape=(16, 16, 16))
    syn.add(np.array([[z, z, z] for z in range(0, 200, 5)]), "PreSyn")  # no tags
    view = hub.catalog.view(node.uuid, "syn")
    assert list(view.scan(*class_range(TAGS), keys_only=True)) == []
    syn.add([{"Pos": [7, 7, 7], "Kind": "Note", "Tags": ["checked"], "Prop": {"by": "ann"}}])
    syn.add([{"Pos": [9, 9, 9], "Kind": "Note", "Prop": {"by": "bob"}}])  # Prop, no tag

    def no_walk(*args: Any) -> Any:
        raise AssertionError("a tag query walked every block")

    monkeypatch.setattr(stored, "all_blocks", no_walk)
    with TestClient(create_app(hub)) as client:
        assert by_route(client, node, "checked") == [[7, 7, 7]]
        assert by_route(client, node, "nothing") == []
        long = "t" * (MAX_TAG_BYTES + 1)
        r = client.post(
            f"/api/node/{node.uuid}/syn/elements",
            json=[{"Pos": [1, 1, 1], "Kind": "Note", "Tags": [long]}],
        )
        assert r.status_code == 400
        assert "more than 255 bytes" in r.json()["error"]
    assert len(list(view.scan(*class_range(TAGS), keys_only=True))) == 1
    hub.close()


def test_reload_rebuilds_the_tag_index() -> None:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("tags").master
    syn = node.create_annotations("syn", block_shape=(16, 16, 16))
    syn.add([{"Pos": [3, 3, 3], "Kind": "Note", "Tags": ["a"]}])
    view = hub.catalog.view(node.uuid, "syn")
    view.delete_many([k for k, _ in view.scan(*class_range(TAGS), keys_only=True)])
    with TestClient(create_app(hub)) as client:
        assert by_route(client, node, "a") == []  # as a store from before the index
        assert client.post(f"/api/node/{node.uuid}/syn/reload").status_code == 200
        assert by_route(client, node, "a") == [[3, 3, 3]]
    hub.close()
