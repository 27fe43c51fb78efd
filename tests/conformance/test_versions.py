"""Versions as DVID clients use them: a committed parent keeps its labels and mapping while
a child is proofread; nodes are named by UUID prefix or ``uuid:branch``."""

from __future__ import annotations

from .conftest import SEG, Dvid, label_raw


def test_a_committed_parent_keeps_what_it_had(dvid: Dvid) -> None:
    root = dvid.ok("POST", "/api/repos", json={"alias": "versions"}).json()["root"]
    dvid.labelmap("v", node=root)
    label_raw(dvid, "v", SEG, (0, 0, 0), node=root)
    dvid.ok("POST", f"/api/node/{root}/commit", json={"note": "v1"})
    child = dvid.ok("POST", f"/api/node/{root}/newversion", json={"note": "v2"}).json()["child"]
    merged = dvid.ok("POST", dvid.at("v", "merge", node=child), json=[1, 3])
    assert "MutationID" in merged.json()
    dvid.ok("POST", dvid.at("v", "raw/0_1_2/8_8_8/0_0_0", node=child), data=bytes(8 * 512))

    assert dvid.json(dvid.at("v", "mapping", node=root), json=[3]) == [3]
    assert dvid.json(dvid.at("v", "mapping", node=child), json=[3]) == [1]
    assert dvid.json(dvid.at("v", "label/0_0_0", node=root)) == {"Label": 1}
    assert dvid.json(dvid.at("v", "label/0_0_0", node=child)) == {"Label": 0}
    assert dvid.json(dvid.at("v", "supervoxels/1", node=root)) == [1]
    assert dvid.json(dvid.at("v", "supervoxels/1", node=child)) == [1, 3]
    # the same reads through a UUID prefix and through the branch name
    assert dvid.json(dvid.at("v", "mapping", node=child[:8]), json=[3]) == [1]
    assert dvid.json(dvid.at("v", "mapping", node=f"{root}:master"), json=[3]) == [1]
    assert dvid.json(dvid.at("v", "maxlabel", node=child)) == {"maxlabel": 6}
