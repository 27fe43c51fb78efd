"""Public versions: published committed nodes and their ancestors are readable without a
token, and no listing or description shows anyone a node it may not read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .auth_env import AuthEnv, open_auth_env

RAW = "raw/0_1_2/16_8_4/0_0_0"


@dataclass
class Dag:
    """demo: root ← a (both committed, a published) ← b (open master leaf); root ← s
    (committed, branch "side", private)."""

    env: AuthEnv
    root: str
    a: str
    b: str
    s: str

    @property
    def private(self) -> tuple[str, str]:
        return self.b, self.s


@pytest.fixture
def dag() -> Iterator[Dag]:
    with open_auth_env() as env:
        root = env.root
        root.commit("v0")
        a = root.newversion("a")
        a.commit("v1")
        b = a.newversion("b")
        s = root.branch("side", "s")
        s.commit("side")
        env.auth.publish(a.uuid)
        yield Dag(env, root.uuid, a.uuid, b.uuid, s.uuid)


def get(dag: Dag, path: str, user: str | None = None) -> object:
    r = dag.env.client.get(path, headers=dag.env.as_user(user))
    assert r.status_code == 200, (path, r.text)
    return r.json()


def test_public_node_and_its_ancestors_are_readable_without_a_token(dag: Dag) -> None:
    c = dag.env.client
    for uuid in (dag.a, dag.root):
        assert c.get(f"/api/node/{uuid}/gray/{RAW}").status_code == 200
        assert c.get(f"/api/node/{uuid}/gray/info").status_code == 200
        assert c.get(f"/api/voxhub/node/{uuid}").status_code == 200
    for uuid in dag.private:
        assert c.get(f"/api/node/{uuid}/gray/{RAW}").status_code == 401
        assert c.get(f"/api/node/{uuid}/note").status_code == 401
        r = c.get(f"/api/node/{uuid}/gray/info", headers=dag.env.as_user("outsider"))
        assert r.status_code == 403
    # reading a public node is not writing it
    assert c.post(f"/api/node/{dag.a}/note", json={"note": "x"}).status_code == 401
    assert c.post(f"/api/node/{dag.a}/newversion", json={}).status_code == 401


def _shown(document: object) -> str:
    return json.dumps(document)


@pytest.mark.parametrize("user", [None, "outsider"])
def test_listings_show_only_public_nodes(dag: Dag, user: str | None) -> None:
    u = dag.root
    documents = [
        get(dag, "/api/repos/info", user),
        get(dag, f"/api/repo/{u}/info", user),
        get(dag, f"/api/repo/{dag.b}/info", user),  # a private ref, the public view
        get(dag, "/api/voxhub/repos", user),
        get(dag, f"/api/voxhub/repo/{u}", user),
        get(dag, f"/api/voxhub/repo/{u}/nodes", user),
        get(dag, f"/api/voxhub/node/{u}", user),
        get(dag, f"/api/voxhub/node/{dag.a}/lineage", user),
        get(dag, f"/api/repo/{u}/branch-versions/master", user),
        get(dag, f"/api/repo/{u}/branch-versions/side", user),
        dag.env.client.get("/", headers=dag.env.as_user(user)).text,
    ]
    for document in documents:
        text = _shown(document)
        for uuid in dag.private:
            assert uuid not in text, document
    info = get(dag, "/api/repos/info", user)
    assert isinstance(info, dict)
    assert dag.env.other.uuid not in info or user == "outsider"  # outsider writes "other"
    demo = info[dag.root]
    assert set(demo["DAG"]["Nodes"]) == {dag.root, dag.a}
    assert demo["DAG"]["Nodes"][dag.a]["Children"] == []
    assert demo["Log"] == []
    assert demo["DataInstances"]["gray"]["Extended"]["MaxPoint"] == [15, 7, 3]
    assert get(dag, f"/api/repo/{u}/branch-versions/master", user) == [dag.a, dag.root]
    assert get(dag, f"/api/repo/{u}/branch-versions/side", user) == [dag.root]
    node = get(dag, f"/api/voxhub/node/{u}", user)
    assert isinstance(node, dict)
    assert node["children"] == [dag.a]


def test_a_role_shows_every_node(dag: Dag) -> None:
    line = {"log": [f"reviewed {dag.b}"]}
    r = dag.env.client.post(
        f"/api/repo/{dag.root}/log", json=line, headers=dag.env.as_user("writer")
    )
    assert r.status_code == 200
    info = get(dag, "/api/repos/info", "reader")
    assert isinstance(info, dict)
    assert set(info[dag.root]["DAG"]["Nodes"]) == {dag.root, dag.a, dag.b, dag.s}
    assert info[dag.root]["Log"][-1].endswith(f"reviewed {dag.b}")
    assert _shown(get(dag, "/api/repos/info")).count("reviewed") == 0
    nodes = get(dag, f"/api/voxhub/repo/{dag.root}/nodes", "reader")
    assert isinstance(nodes, list)
    assert len(nodes) == 4


def test_repo_wide_reads_that_name_every_node_need_a_role(dag: Dag) -> None:
    assert dag.env.client.get(f"/api/repo/{dag.root}/log").status_code == 401
    # ndstore's "demo" token names the master leaf, which is private
    assert dag.env.client.get("/ca/demo/gray/raw/0/0,16/0,8/0,4").status_code == 401


def test_a_repo_without_public_nodes_stays_hidden(dag: Dag) -> None:
    c = dag.env.client
    dag.env.other.create_labels("cells")
    assert c.get(f"/api/repo/{dag.env.other.uuid}/info").status_code == 401
    assert c.get(f"/api/voxhub/repo/{dag.env.other.uuid}/nodes").status_code == 401
    assert list(c.get("/api/server/types").json()) == ["uint8blk"]
    assert len(c.get("/api/server/types", headers=dag.env.as_user("root")).json()) == 2


def test_unpublishing_takes_effect_on_the_next_request(dag: Dag) -> None:
    c = dag.env.client
    assert c.get(f"/api/node/{dag.a}/gray/{RAW}").status_code == 200
    dag.env.auth.unpublish(dag.a)
    assert c.get(f"/api/node/{dag.a}/gray/{RAW}").status_code == 401
    assert c.get("/api/repos/info").json() == {}
    dag.env.auth.publish(dag.s)  # now the side branch: root and s, not a
    assert c.get(f"/api/node/{dag.s}/gray/info").status_code == 200
    assert c.get(f"/api/node/{dag.a}/gray/info").status_code == 401
    assert set(c.get("/api/repos/info").json()[dag.root]["DAG"]["Nodes"]) == {dag.root, dag.s}
