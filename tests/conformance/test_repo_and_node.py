"""The repo and node calls neuclease makes around a proofreading session (dvid/repo.py,
dvid/node.py): create, describe, log, note, commit, newversion, branch."""

from __future__ import annotations

import pytest

from .conftest import Dvid


def test_repo_and_node_lifecycle(dvid: Dvid) -> None:
    created = dvid.ok("POST", "/api/repos", json={"alias": "life", "description": "a test"})
    root = created.json()["root"]
    info = dvid.json(f"/api/repo/{root}/info")
    assert (info["Alias"], info["Description"], info["Root"]) == ("life", "a test", root)
    dvid.ok("POST", f"/api/repo/{root}/info", json={"description": "renamed"})
    assert dvid.json(f"/api/repo/{root}/info")["Description"] == "renamed"

    dvid.ok("POST", f"/api/repo/{root}/log", json={"log": ["repo line"]})
    assert any("repo line" in line for line in dvid.json(f"/api/repo/{root}/log")["log"])
    dvid.ok("POST", f"/api/node/{root}/note", json={"note": "first"})
    assert dvid.json(f"/api/node/{root}/note") == {"note": "first"}
    dvid.ok("POST", f"/api/node/{root}/log", json={"log": ["node line"]})
    assert any("node line" in line for line in dvid.json(f"/api/node/{root}/log")["log"])

    assert dvid.json(f"/api/node/{root}/commit") == {"Locked": False}
    dvid.ok("POST", f"/api/node/{root}/commit", json={"note": "done", "log": ["committed"]})
    assert dvid.json(f"/api/node/{root}/commit") == {"Locked": True}
    child = dvid.ok("POST", f"/api/node/{root}/newversion", json={"note": "next"}).json()["child"]
    branch = dvid.ok("POST", f"/api/node/{root}/branch", json={"branch": "alt", "note": "b"})
    alt = branch.json()["child"]
    dag = dvid.json(f"/api/repo/{root}/info")["DAG"]["Nodes"]
    assert {root, child, alt} <= set(dag)
    assert dag[alt]["Branch"] == "alt"
    refused = dvid.request("POST", f"/api/node/{root}/note", json={"note": "late"})
    assert refused.status_code == 409  # DVID: 400 for a committed node


@pytest.mark.covers("labelmap", "GET /tags", "POST /tags")
@pytest.mark.covers("uint8blk", "GET /tags", "POST /tags")
def test_instance_tags(dvid: Dvid) -> None:
    """neuclease's post_tags (create_instance(tags=...)): instance-wide, not versioned."""
    dvid.labelmap("tagged")
    dvid.ok("POST", dvid.at("tagged", "tags"), json={"type": "mito", "note": "test"})
    dvid.ok("POST", dvid.at("tagged", "tags"), json={"note": "changed"})
    expected = {"type": "mito", "note": "changed"}
    assert dvid.json(dvid.at("tagged", "tags")) == {"Tags": expected}
    assert dvid.json(dvid.at("tagged", "info"))["Base"]["Tags"] == expected
    repos = dvid.json("/api/repos/info")
    assert repos[dvid.repo]["DataInstances"]["tagged"]["Base"]["Tags"] == expected
    # the same tags from every node (the committed root too), and replace=true
    assert dvid.json(dvid.at("tagged", "tags", node=dvid.committed)) == {"Tags": expected}
    dvid.ok("POST", dvid.at("em", "tags", node=dvid.committed), json={"kind": "em"})
    dvid.ok("POST", dvid.at("em", "tags"), params={"replace": "true"}, json={"kind": "grayscale"})
    assert dvid.json(dvid.at("em", "tags")) == {"Tags": {"kind": "grayscale"}}
    dvid.ok("POST", dvid.at("em", "tags"), params={"replace": "true"}, json={})
    assert dvid.json(dvid.at("em", "info"))["Base"]["Tags"] == {}
    assert dvid.request("POST", dvid.at("em", "tags"), json={"n": 1}).status_code == 400
    log = dvid.json(f"/api/repo/{dvid.repo}/log")["log"]
    assert any("tags of instance tagged" in line and "u=ann" in line for line in log)
