"""DVID's label counters over HTTP: ``POST nextlabel/{count}`` raises the node's maxlabel
to the end of the reservation, ``POST maxlabel/{label}`` raises it (never lowers it), and
both keep later reservations above; other branches keep their own maxlabel."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub, Node
from voxhub.server import create_app

_names = itertools.count()


class Labels:
    """A fresh labelmap holding ids 1..3 at the open root of one shared repo."""

    def __init__(self, client: TestClient, node: Node) -> None:
        self.client, self.node, self.name = client, node, f"m{next(_names)}"
        lv = node.create_labels(self.name, block_shape=(16, 16, 16))
        lv.write((0, 0, 0), np.array([[[1, 2, 3]]], np.uint64))

    def url(self, rest: str, node: str | None = None) -> str:
        return f"/api/node/{node or self.node.uuid}/{self.name}/{rest}"

    def maxlabel(self, node: str | None = None) -> int:
        return int(self.client.get(self.url("maxlabel", node)).json()["maxlabel"])

    def nextlabel(self, node: str | None = None) -> int:
        return int(self.client.get(self.url("nextlabel", node)).json()["nextlabel"])

    def reserve(self, count: int, node: str | None = None) -> tuple[int, int]:
        r = self.client.post(self.url(f"nextlabel/{count}", node))
        assert r.status_code == 200, r.text
        return r.json()["start"], r.json()["end"]


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[TestClient, EmbeddedHub]]:
    hub = EmbeddedHub.open("memory://")
    hub.create_repo("counters", "label counters")
    with TestClient(create_app(hub)) as client:
        yield client, hub
    hub.close()


@pytest.fixture
def labels(shared: tuple[TestClient, EmbeddedHub]) -> Labels:
    client, hub = shared
    return Labels(client, hub.repos()[0].master)


def test_nextlabel_raises_maxlabel_to_the_end_of_the_reservation(labels: Labels) -> None:
    assert (labels.maxlabel(), labels.nextlabel()) == (3, 4)
    assert labels.reserve(5) == (4, 8)
    assert (labels.maxlabel(), labels.nextlabel()) == (8, 9)


def test_post_maxlabel_raises_never_lowers_and_refuses_garbage(labels: Labels) -> None:
    c = labels.client
    assert c.post(labels.url("maxlabel/100?u=ann")).status_code == 200
    assert (labels.maxlabel(), labels.nextlabel()) == (100, 101)
    assert c.post(labels.url("maxlabel/50")).status_code == 200  # smaller: ignored
    assert labels.maxlabel() == 100
    assert labels.reserve(1) == (101, 101)
    for bad in ("0", "x", str(2**48 + 1), str(2**64)):
        r = c.post(labels.url(f"maxlabel/{bad}"))
        assert r.status_code == 400, (bad, r.text)
    assert labels.maxlabel() == 101
    assert (
        c.get(f"/api/node/{labels.node.uuid}/log")
        .json()["log"][-3]
        .endswith(f"u=ann: POST {labels.name}/maxlabel/100")
    )


def test_branches_keep_their_own_maxlabel_and_share_the_counter(labels: Labels) -> None:
    c, root = labels.client, labels.node
    labels.reserve(5)  # root: maxlabel 8
    root.commit()
    a = c.post(f"/api/node/{root.uuid}/newversion", json={}).json()["child"]
    b = c.post(f"/api/node/{root.uuid}/branch", json={"branch": f"b{labels.name}"}).json()
    b = b["child"]
    assert labels.reserve(2, a) == (9, 10)
    assert (labels.maxlabel(a), labels.maxlabel(b)) == (10, 8)  # b inherits the root's
    assert labels.reserve(1, b) == (11, 11)  # the counter is repo-wide
    assert labels.maxlabel(b) == 11
    assert c.post(labels.url("maxlabel/20", b)).status_code == 200
    assert (labels.maxlabel(a), labels.maxlabel(b), labels.maxlabel()) == (10, 20, 8)
    assert labels.reserve(1, a) == (21, 21)
    assert c.post(labels.url("nextlabel/1")).status_code == 409  # the root is committed
    assert c.post(labels.url("maxlabel/30")).status_code == 409


def test_the_python_api_follows_the_same_rule(labels: Labels) -> None:
    lv = labels.node.labels(labels.name)
    assert lv.next_labels(2) == range(4, 6)
    assert lv.maxlabel() == 5
    lv.set_maxlabel(40)
    assert (lv.maxlabel(), labels.nextlabel()) == (40, 41)
    with pytest.raises(Exception, match="2\\*\\*48"):
        lv.set_maxlabel(2**48 + 1)


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.integers(1, 50)),
        st.tuples(st.just("maxlabel"), st.integers(1, 400)),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=15, deadline=None)
@given(OPS)
def test_counters_follow_dvids_rules(
    shared: tuple[TestClient, EmbeddedHub], ops: list[tuple[str, int]]
) -> None:
    client, hub = shared
    labels = Labels(client, hub.repos()[0].master)
    maxlabel, next_id = 3, 4  # the model: ids 1..3 are written
    for op, n in ops:
        if op == "reserve":
            assert labels.reserve(n) == (next_id, next_id + n - 1)
            maxlabel, next_id = max(maxlabel, next_id + n - 1), next_id + n
        else:
            assert client.post(labels.url(f"maxlabel/{n}")).status_code == 200
            maxlabel, next_id = max(maxlabel, n), max(next_id, n + 1)
        assert (labels.maxlabel(), labels.nextlabel()) == (maxlabel, next_id)
