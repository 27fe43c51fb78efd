"""Node-level routes, node references, and their error cases."""

from __future__ import annotations

from .conftest import Env


def test_note(env: Env) -> None:
    c, url = env.client, f"/api/node/{env.uuid}/note"
    assert c.get(url).json() == {"note": ""}
    assert c.post(url, json={"note": "hello"}).status_code == 200
    assert c.get(url).json() == {"note": "hello"}
    assert c.post(url, json={"note": 5}).status_code == 400
    env.root.commit()
    locked = c.post(url, json={"note": "late"})
    assert locked.status_code == 409
    assert locked.json()["type"] == "VersionLocked"


def test_log_records_user_and_app(env: Env) -> None:
    c, url = env.client, f"/api/node/{env.uuid}/log"
    assert c.post(url + "?u=alice&app=neutu", json={"log": ["painted"]}).status_code == 200
    (line,) = c.get(url).json()["log"]
    assert line.endswith(" u=alice app=neutu: painted")
    assert c.post(url, json={"log": [1]}).status_code == 400
    env.root.commit()
    assert c.post(url, json={"log": ["late"]}).status_code == 409


def test_status_commit_and_deprecated_get_commit(env: Env) -> None:
    c = env.client
    assert c.get(f"/api/node/{env.uuid}/status").json() == {"Locked": False}
    assert c.get(f"/api/node/{env.uuid}/commit").json() == {"Locked": False}
    r = c.post(f"/api/node/{env.uuid}/commit?u=bob", json={"note": "v1", "log": ["done"]})
    assert r.json() == {"committed": env.uuid}
    assert c.get(f"/api/node/{env.uuid}/commit").json() == {"Locked": True}
    info = env.root.info
    assert info.note == "v1"
    assert "u=bob" in info.log[-1]
    assert info.log[-1].endswith("done")
    again = c.post(f"/api/node/{env.uuid}/commit", json={})
    assert again.status_code == 400
    assert "already committed" in again.json()["error"]
    assert c.post("/api/node/ffffffff/commit", json={}).status_code == 404


def test_newversion(env: Env) -> None:
    c, url = env.client, f"/api/node/{env.uuid}/newversion"
    assert c.post(url, json={}).status_code == 400  # parent still open
    env.root.commit()
    wanted = "cd" * 16
    r = c.post(url + "?app=x", json={"note": "next", "uuid": wanted})
    assert r.json() == {"child": wanted}
    child = env.hub.node(wanted)
    assert child.note == "next"
    assert child.parents == [env.root]
    assert "app=x" in child.info.log[0]
    assert c.post(url, json={}).status_code == 400  # already has a master child
    assert c.post(url, json={"uuid": "zz"}).status_code == 400


def test_branch(env: Env) -> None:
    c, url = env.client, f"/api/node/{env.uuid}/branch"
    env.root.commit()
    child = c.post(url, json={"branch": "proof", "note": "p"}).json()["child"]
    assert env.hub.node(child).branch_name == "proof"
    assert c.post(url, json={"branch": "proof"}).status_code == 400
    missing = c.post(url, json={})
    assert missing.status_code == 400
    assert "branch" in missing.json()["error"]
    assert c.post(url, json={"branch": "master"}).status_code == 400


def test_tag_is_a_committed_child_on_a_tag_branch(env: Env) -> None:
    c, url = env.client, f"/api/node/{env.uuid}/tag"
    env.root.commit()
    r = c.post(url, json={"tag": "v1.0", "note": "release"}).json()
    assert r["tag"] == "v1.0"
    assert r["branch"] == "tag-v1.0"
    assert len(r["child"]) == 32
    node = env.hub.node(r["child"])
    assert node.locked
    assert node.note == "tag v1.0: release"
    assert c.get(f"/api/node/{env.uuid}:tag-v1.0/status").json() == {"Locked": True}
    assert c.post(url, json={"tag": "v1.0"}).status_code == 400
    assert c.post(url, json={}).status_code == 400


def test_node_references(env: Env) -> None:
    c = env.client
    env.root.commit()
    child = c.post(f"/api/node/{env.uuid}/newversion", json={}).json()["child"]
    for ref in (env.uuid[:5], f"{env.uuid[:5]}:master~1", ":master~1"):
        assert c.get(f"/api/node/{ref}/status").json() == {"Locked": True}, ref
    for ref in (child, f"{env.uuid}:master", ":master", f"{env.uuid}:"):
        assert c.get(f"/api/node/{ref}/status").json() == {"Locked": False}, ref
    assert c.get(f"/api/node/{env.uuid}:nope/status").status_code == 404
    assert c.get(f"/api/node/{env.uuid}:master~9/status").status_code == 404


def test_ambiguous_prefix_is_400(env: Env) -> None:
    env.hub.create_repo(root="ab" + "0" * 30)
    env.hub.create_repo(root="ab" + "1" * 30)
    r = env.client.get("/api/node/ab/status")
    assert r.status_code == 400
    assert r.json()["type"] == "AmbiguousUUID"
