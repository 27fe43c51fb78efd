"""Pyramid levels under DVID's names (``gray_1``) follow the access rules of their node:
readable where the node is, listed to whoever sees the repo, never writable."""

from __future__ import annotations

from .auth_env import open_auth_env

RAW = "raw/0_1_2/8_8_8/0_0_0"


def test_level_names_follow_node_visibility_and_are_never_written() -> None:
    with open_auth_env() as env:
        env.root.commit("v0")
        open_node = env.root.newversion("b").uuid
        published = env.root.uuid
        env.auth.publish(published)
        c = env.client
        assert c.get(f"/api/node/{published}/gray_1/{RAW}").status_code == 200
        assert c.get(f"/api/node/{open_node}/gray_1/{RAW}").status_code == 401
        listed = c.get("/api/repos/info").json()  # anonymous: public versions only
        (demo,) = [r for r in listed.values() if r["Alias"] == "demo"]
        assert set(demo["DAG"]["Nodes"]) == {published}
        assert demo["DataInstances"]["gray_1"]["Extended"]["PyramidLevelOf"]["Name"] == "gray"
        post = f"/api/node/{open_node}/gray_1/{RAW}"
        assert c.post(post, content=bytes(512)).status_code == 401  # who first, then what
        assert c.post(post, content=bytes(512), headers=env.as_user("reader")).status_code == 403
        refused = c.post(post, content=bytes(512), headers=env.as_user("writer"))
        assert refused.status_code == 405
        assert "'gray'" in refused.json()["error"]
