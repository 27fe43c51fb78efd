"""An instance that starts following a labelmap while a voxel write of it is in flight is
exact, through the real app. The interleaving is forced deterministically: the sync is
set up (and its derived data built) exactly between the write's look for followers
before its transaction and the transaction itself, the window a voxel write used to
miss its new follower in."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from voxhub.client import EmbeddedHub
from voxhub.datatypes.labelmap import synced
from voxhub.datatypes.sync_config import set_syncs
from voxhub.server import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

ELEMENTS = [{"Pos": p, "Kind": "PreSyn"} for p in ([1, 1, 1], [20, 2, 2], [3, 20, 3])]


@dataclass
class App:
    client: TestClient
    hub: EmbeddedHub
    uuid: str

    def url(self, path: str) -> str:
        return f"/api/node/{self.uuid}/{path}"

    def label(self, body: int) -> list[list[int]]:
        r = self.client.get(self.url(f"syn/label/{body}"))
        assert r.status_code == 200, r.text
        return sorted(e["Pos"] for e in r.json())


@pytest.fixture
def app() -> Iterator[App]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("race").master
    node.create_labels("seg", block_shape=(16, 16, 16)).write(
        (0, 0, 0), np.full((32, 32, 32), 1, np.uint64)
    )
    node.create_annotations("syn", block_shape=(16, 16, 16))  # follows nothing yet
    with TestClient(create_app(hub)) as client:
        app = App(client, hub, node.uuid)
        assert client.post(app.url("syn/elements"), json=ELEMENTS).status_code == 200
        yield app
    hub.close()


def start_following_in_the_window(app: App, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make the next voxel write's look for followers (before its transaction) find none
    and then set up ``syn`` to follow ``seg``; returns what each look answered."""
    answers: list[bool] = []
    looked = synced.LabelSync.followed

    def followed(self: synced.LabelSync) -> bool:
        found = looked(self)
        answers.append(found)
        if not found and len(answers) == 1:
            service = app.hub.service
            info = service.catalog.instance(app.uuid, "syn")
            set_syncs(service, app.uuid, info, ["seg"], replace=False)
        return found

    monkeypatch.setattr(synced.LabelSync, "followed", followed)
    return answers


def test_a_sync_set_up_during_a_voxel_write_sees_the_write(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = start_following_in_the_window(app, monkeypatch)
    block = np.full((16, 16, 16), 7, np.uint64).tobytes()  # body 7 over (0..15)³
    r = app.client.post(app.url("seg/raw/0_1_2/16_16_16/0_0_0"), content=block)
    assert r.status_code == 200, r.text
    assert answers == [False]  # the write looked once, before the sync was set up
    assert app.label(7) == [[1, 1, 1]]  # re-filed by the write it raced with
    assert app.label(1) == [[3, 20, 3], [20, 2, 2]]


def test_a_sync_set_up_during_a_block_write_sees_the_write(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = start_following_in_the_window(app, monkeypatch)
    app.hub.node(app.uuid).labels("seg").write_blocks(
        {(0, 1, 0): np.full((16, 16, 16), 9, np.uint64)}  # z and x 0..15, y 16..31
    )
    assert answers == [False]
    assert app.label(9) == [[3, 20, 3]]
    assert app.label(1) == [[1, 1, 1], [20, 2, 2]]
