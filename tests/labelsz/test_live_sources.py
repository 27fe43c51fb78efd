"""labelsz following sources that change wholesale, through the real app: a live ROI
(``POST roi`` / ``DELETE roi`` recount in the ROI's transaction, at any version) and an
annotation re-synced to another labelmap or to none (``POST sync?replace=true`` recounts
in that transaction: no count of the old labelmap's bodies is left)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from voxhub.client import EmbeddedHub
from voxhub.server import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

SIDE = 16
#: (x, y, z) positions: 3 PreSyn, the last one in block (1, 1, 1) of 8³ blocks
ELEMENTS = [{"Pos": p, "Kind": "PreSyn"} for p in ([1, 1, 1], [12, 2, 2], [9, 9, 9])]


@dataclass
class App:
    client: TestClient
    uuid: str

    def call(self, method: str, path: str, **kw: Any) -> Any:
        r = self.client.request(method, f"/api/node/{self.uuid}/{path}", **kw)
        assert r.status_code == 200, r.text
        return r.json() if r.content else None

    def top(self, name: str = "sizes") -> list[list[int]]:
        return [[e["Label"], e["Size"]] for e in self.call("GET", f"{name}/top/10/PreSyn")]


def labels(split_x: bool) -> bytes:
    """Body 1 on x < 8 and body 2 beyond (``split_x``), else bodies 5 and 6 along z."""
    data = np.zeros((SIDE, SIDE, SIDE), np.uint64)
    if split_x:
        data[:, :, :8], data[:, :, 8:] = 1, 2
    else:
        data[:8], data[8:] = 5, 6
    return data.tobytes()


@pytest.fixture
def app() -> Iterator[App]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("live").master
    with TestClient(create_app(hub)) as client:
        app = App(client, node.uuid)
        for name, split in (("seg", True), ("seg2", False)):
            body = {"typename": "labelmap", "dataname": name, "BlockSize": "16,16,16"}
            assert client.post(f"/api/repo/{node.uuid}/instance", json=body).status_code == 200
            app.call("POST", f"{name}/raw/0_1_2/16_16_16/0_0_0", content=labels(split))
        for body in (
            {"typename": "annotation", "dataname": "syn", "Sync": "seg", "BlockSize": "8,8,8"},
            {"typename": "roi", "dataname": "area", "BlockSize": "8,8,8"},
            {"typename": "labelsz", "dataname": "sizes", "Sync": "syn"},
            {"typename": "labelsz", "dataname": "inroi", "Sync": "syn", "ROI": "area"},
        ):
            assert client.post(f"/api/repo/{node.uuid}/instance", json=body).status_code == 200
        app.call("POST", "syn/elements", json=ELEMENTS)
        yield app
    hub.close()


def test_a_live_roi_recounts_when_posted_or_deleted_at_any_version(app: App) -> None:
    assert app.top("inroi") == []  # the ROI is empty
    app.call("POST", "area/roi", json=[[0, 0, 0, 1]])  # z, y block 0; x blocks 0..1
    assert app.top("inroi") == [[1, 1], [2, 1]]
    app.call("POST", "area/roi", json=[[1, 1, 1, 1]])
    assert app.top("inroi") == [[2, 1]]
    parent = app.uuid
    assert app.client.post(f"/api/node/{parent}/commit", json={}).status_code == 200
    app.uuid = app.client.post(f"/api/node/{parent}/newversion", json={}).json()["child"]
    app.call("DELETE", "area/roi")
    assert app.top("inroi") == []
    assert app.top("sizes") == [[2, 2], [1, 1]]  # without an ROI, nothing changed
    app.uuid = parent  # the committed version kept its ROI and counts
    assert app.top("inroi") == [[2, 1]]


def test_an_annotation_resynced_to_another_labelmap_leaves_no_stale_count(app: App) -> None:
    assert app.top() == [[2, 2], [1, 1]]
    app.call("POST", "syn/sync?replace=true", json={"sync": "seg2"})
    assert app.top() == [[5, 2], [6, 1]]  # bodies 1 and 2 no longer counted
    assert app.call("GET", "sizes/count/1/PreSyn") == {"Label": 1, "PreSyn": 0}
    assert app.call("GET", "syn/label/5") != []
    app.call("POST", "syn/sync?replace=true", json={"sync": ""})  # follows nothing
    assert app.top() == []
