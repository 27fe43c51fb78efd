"""DVID's ``POST sync`` and ``Sync`` creation setting through the real app: stored in the
instance's config, listed in ``Base.Syncs``, checked (400 naming what was wrong), and the
follower's derived data built at the node when a sync is set up."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from voxhub.client import EmbeddedHub

from .sync_recorder import TYPENAME, Recorder, install

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.server import create_app


@dataclass
class App:
    client: TestClient
    hub: EmbeddedHub
    uuid: str
    recorder: Recorder

    def syncs(self, name: str) -> list[str]:
        r = self.client.get(f"/api/repo/{self.uuid}/info")
        assert r.status_code == 200
        return list(r.json()["DataInstances"][name]["Base"]["Syncs"])


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    recorder = install(monkeypatch)
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("syncs").master
    for name in ("seg", "seg2"):
        node.create_labels(name, block_shape=(8, 8, 8))
    node.create_volume("gray", "uint8", block_shape=(8, 8, 8))
    with TestClient(create_app(hub)) as client:
        yield App(client, hub, node.uuid, recorder)
    hub.close()


def create(app: App, **settings: str) -> int:
    body = {"typename": TYPENAME, "dataname": "rec", **settings}
    return app.client.post(f"/api/repo/{app.uuid}/instance", json=body).status_code


def test_sync_setting_at_creation_is_stored_listed_and_built(app: App) -> None:
    assert create(app, Sync="seg") == 200
    assert app.syncs("rec") == ["seg"]
    assert app.recorder.built == [(app.uuid, "rec", ("seg",))]
    assert app.hub.catalog.instance(app.uuid, "rec").config == {"sync": ["seg"]}


@pytest.mark.parametrize(
    ("sync", "message"),
    [("nothing", "no such instance"), ("gray", "syncs to labelmap only"), ("rec", "itself")],
)
def test_a_bad_sync_setting_is_a_400_and_creates_nothing(app: App, sync: str, message: str) -> None:
    body = {"typename": TYPENAME, "dataname": "rec", "Sync": sync}
    r = app.client.post(f"/api/repo/{app.uuid}/instance", json=body)
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert "rec" not in app.hub.catalog.instances(app.uuid)
    assert app.recorder.built == []


def test_post_sync_adds_or_replaces(app: App) -> None:
    assert create(app) == 200
    assert app.syncs("rec") == []
    assert app.recorder.built == []
    url = f"/api/node/{app.uuid}/rec/sync"
    assert app.client.post(url, json={"sync": "seg"}).status_code == 200
    assert app.client.post(url, json={"sync": " seg ,"}).status_code == 200  # added again
    assert app.syncs("rec") == ["seg"]
    assert app.client.post(url + "?replace=true", json={"sync": "seg2"}).status_code == 200
    assert app.syncs("rec") == ["seg2"]
    assert [b[2] for b in app.recorder.built] == [("seg",), ("seg",), ("seg2",)]
    assert app.client.post(url + "?replace=true", json={"sync": ""}).status_code == 200
    assert app.syncs("rec") == []
    assert "syncs of instance rec" in app.hub.catalog.repo(app.uuid).log[-1]


@pytest.mark.parametrize(
    ("body", "query", "message"),
    [
        ({"sync": "gray"}, "", "syncs to labelmap only"),
        ({"sync": "seg,missing"}, "", "'missing': no such instance"),
        ({"sync": "seg2"}, "", "to both 'seg' and 'seg2': it follows one labelmap"),
        ({"sink": "seg"}, "", "sync"),
        ({"sync": 5}, "", "sync"),
        ({"sync": "seg"}, "?replace=maybe", "replace"),
    ],
)
def test_a_bad_post_sync_is_a_400_and_changes_nothing(
    app: App, body: object, query: str, message: str
) -> None:
    assert create(app, Sync="seg") == 200
    r = app.client.post(f"/api/node/{app.uuid}/rec/sync{query}", json=body)
    assert r.status_code == 400
    assert message in r.json()["error"]
    assert app.syncs("rec") == ["seg"]


def test_a_labelmap_takes_no_sync(app: App) -> None:
    r = app.client.post(f"/api/node/{app.uuid}/seg/sync", json={"sync": "seg2"})
    assert r.status_code == 404
    body = {"typename": "labelmap", "dataname": "seg3", "Sync": "seg"}
    r = app.client.post(f"/api/repo/{app.uuid}/instance", json=body)
    assert r.status_code == 200
    assert r.json()["IgnoredSettings"] == ["Sync"]
    assert app.syncs("seg3") == []
