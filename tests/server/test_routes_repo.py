"""Repo-level routes with their error cases."""

from __future__ import annotations

import numpy as np

from .conftest import Env, committed_pair


def test_head_repo(env: Env) -> None:
    assert env.client.head(f"/api/repo/{env.uuid[:6]}").status_code == 200
    assert env.client.head("/api/repo/ffffffff").status_code == 404


def test_info_get_and_post(env: Env) -> None:
    c, url = env.client, f"/api/repo/{env.uuid}/info"
    assert c.get(url).json()["Alias"] == "demo"
    assert c.post(url, json={"description": "new"}).status_code == 200
    info = c.get(url).json()
    assert (info["Alias"], info["Description"]) == ("demo", "new")
    bad = c.post(url, json={"alias": ["x"]})
    assert bad.status_code == 400
    assert "alias" in bad.json()["error"]
    assert c.get("/api/repo/ffffffff/info").status_code == 404


def test_create_instance_with_dvid_string_settings(env: Env) -> None:
    c = env.client
    body = {
        "typename": "uint16blk",
        "dataname": "deep",
        "BlockSize": "16,32,64",
        "VoxelSize": "4,4,40",
        "Compression": "lz4",
    }
    r = c.post(f"/api/repo/{env.uuid}/instance?u=alice&app=script", json=body)
    assert r.json() == {
        "result": f"Added deep [uint16blk] to node {env.uuid}",
        "IgnoredSettings": [],
    }
    vol = env.root.volume("deep")
    assert vol.block_shape == (64, 32, 16)
    assert vol.config.voxel_size == (40.0, 4.0, 4.0)
    assert "u=alice app=script" in env.hub.repo(env.uuid).info.log[-1]
    dup = c.post(f"/api/repo/{env.uuid}/instance", json=body)
    assert dup.status_code == 409
    assert "deep" in dup.json()["error"]
    odd = c.post(f"/api/repo/{env.uuid}/instance", json={**body, "dataname": "x", "Wobble": "1"})
    assert odd.json()["IgnoredSettings"] == ["Wobble"]  # as DVID: ignored, not refused
    bad = c.post(f"/api/repo/{env.uuid}/instance", json={**body, "dataname": "z", "Tags": ["a=b"]})
    assert bad.status_code == 400
    assert "Tags" in bad.json()["error"]
    assert c.post(f"/api/repo/{env.uuid}/instance", json={"dataname": "y"}).status_code == 400
    assert c.post("/api/repo/ffffffff/instance", json=body).status_code == 404
    env.root.commit()
    locked = c.post(f"/api/repo/{env.uuid}/instance", json={**body, "dataname": "late"})
    assert locked.status_code == 409
    assert "committed" in locked.json()["error"]


def test_repo_log(env: Env) -> None:
    c, url = env.client, f"/api/repo/{env.uuid}/log"
    assert c.get(url).json() == {"log": []}
    assert c.post(url + "?u=bob", json={"log": ["one", "two"]}).status_code == 200
    log = c.get(url).json()["log"]
    assert [line.split(": ", 1)[1] for line in log] == ["one", "two"]
    assert all("u=bob" in line for line in log)
    assert c.post(url, json={"log": "one"}).status_code == 400
    assert c.get("/api/repo/ffffffff/log").status_code == 404


def test_branch_versions(env: Env) -> None:
    a, b = committed_pair(env)
    c = env.client
    assert c.get(f"/api/repo/{env.uuid}/branch-versions/master").json() == [a, env.uuid]
    assert c.get(f"/api/repo/{env.uuid}/branch-versions/side").json() == [b, env.uuid]
    assert c.get(f"/api/repo/{env.uuid}/branch-versions/nope").json() == []


def _edit(env: Env, uuid: str, value: int) -> None:
    env.hub.node(uuid).volume("gray")[0:1, 0:1, 0:1] = np.uint8(value)
    assert env.client.post(f"/api/node/{uuid}/commit", json={}).status_code == 200


def test_merge_conflict_free_and_conflicting(env: Env) -> None:
    a, b = committed_pair(env)
    c, url = env.client, f"/api/repo/{env.uuid}/merge"
    body = {"mergeType": "conflict-free", "parents": [a, b], "note": "m"}
    child = c.post(url + "?u=carol", json=body).json()["child"]
    node = c.get(f"/api/node/{child}/log").json()["log"]
    assert "u=carol" in node[0]
    assert c.get(f"/api/node/{child}/note").json() == {"note": "m"}
    # both sides now change the same block differently
    a2 = c.post(f"/api/node/{a}/branch", json={"branch": "x"}).json()["child"]
    b2 = c.post(f"/api/node/{b}/newversion", json={}).json()["child"]
    _edit(env, a2, 1)
    _edit(env, b2, 2)
    r = c.post(url, json={**body, "parents": [a2, b2]})
    assert r.status_code == 409
    assert r.json()["type"] == "MergeConflict"
    assert r.json()["conflicts"]["gray"]
    assert c.post(url, json={**body, "mergeType": "weird"}).status_code == 400
    assert c.post(url, json={**body, "mergeType": "type-specific"}).status_code == 501
    assert c.post(url, json={**body, "parents": [a]}).status_code == 400
    assert c.post(url, json={**body, "parents": [a, "ffffffff"]}).status_code == 404
    # resolve: the first parent wins
    r = c.post(f"/api/repo/{env.uuid}/resolve", json={"data": ["gray"], "parents": [b2, a2]})
    merged = r.json()["child"]
    assert env.hub.node(merged).volume("gray")[0, 0, 0] == 2
    r = c.post(f"/api/repo/{env.uuid}/resolve", json={"data": ["nope"], "parents": [b2, a2]})
    assert r.status_code == 404
    assert "nope" in r.json()["error"]


def test_merge_refuses_parents_of_another_repo(env: Env) -> None:
    a, _ = committed_pair(env)
    other = env.hub.create_repo("other").master.commit()
    r = env.client.post(f"/api/repo/{env.uuid}/merge", json={"parents": [a, other.uuid]})
    assert r.status_code == 400
    assert other.uuid in r.json()["error"]
