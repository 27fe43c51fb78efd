"""Hostile names and configs on the catalog routes get a 400 naming the problem, and
nothing is stored."""

from __future__ import annotations

from .conftest import Env


def test_a_non_ascii_branch_in_a_ref_is_400_naming_it(env: Env) -> None:
    r = env.client.get(f"/api/node/{env.uuid}:brünch/gray/info")
    assert r.status_code == 400
    assert "brünch" in r.json()["error"]


def test_an_oversized_alias_is_400_and_creates_no_repo(env: Env) -> None:
    before = set(env.client.get("/api/repos/info").json())
    r = env.client.post("/api/repos", json={"alias": "a" * 1000})
    assert r.status_code == 400
    assert "alias" in r.json()["error"]
    assert set(env.client.get("/api/repos/info").json()) == before


def test_a_malformed_labelmap_config_is_400_and_stores_no_instance(env: Env) -> None:
    url = f"/api/voxhub/node/{env.uuid}/instance"
    for config in ({"block_shape": "abc"}, {"dtype": "uint8", "block_shape": [8, 8, 8]}):
        r = env.client.post(url, json={"typename": "labelmap", "name": "seg", "config": config})
        assert r.status_code == 400, r.text
    assert env.client.get(f"/api/node/{env.uuid}/seg/info").status_code == 404


def test_a_labelmap_config_as_create_labels_makes_it_is_accepted(env: Env) -> None:
    env.root.create_labels("made", block_shape=(16, 16, 16))
    good = env.hub.service.catalog.instance(env.uuid, "made").config
    url = f"/api/voxhub/node/{env.uuid}/instance"
    r = env.client.post(url, json={"typename": "labelmap", "name": "posted", "config": good})
    assert r.status_code == 200, r.text
