"""The repo and node calls neuclease makes around a proofreading session (dvid/repo.py,
dvid/node.py): create, describe, log, note, commit, newversion, branch."""

from __future__ import annotations

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
