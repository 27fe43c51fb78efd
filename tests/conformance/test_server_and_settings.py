"""Server identity, instance creation with the settings DVID clients send, and the node log."""

from __future__ import annotations

import re

import numpy as np

from .conftest import APP, USER, Dvid

#: what neuclease's create_labelmap_instance posts (every value a string)
NEUCLEASE_LABELMAP = {
    "typename": "labelmap",
    "dataname": "created",
    "versioned": "true",
    "BlockSize": "64,64,64",
    "VoxelSize": "8.0,8.0,8.0",
    "VoxelUnits": "nanometers,nanometers,nanometers",
    "IndexedLabels": "true",
    "CountLabels": "true",
    "MaxDownresLevel": "2",
}


def test_server_info_reports_a_dvid_version(dvid: Dvid) -> None:
    info = dvid.json("/api/server/info")
    # neuclease parses "DVID Version" as v<major>.<minor>.<patch>
    assert re.fullmatch(r"v\d+\.\d+\.\d+.*", info["DVID Version"]), info["DVID Version"]


def test_instance_creation_takes_neuclease_settings(dvid: Dvid) -> None:
    answer = dvid.ok("POST", f"/api/repo/{dvid.node}/instance", json=NEUCLEASE_LABELMAP).json()
    assert answer["IgnoredSettings"] == ["CountLabels"]  # DVID ignores it too (labelarray's)
    dvid.typenames["created"] = "labelmap"
    info = dvid.json(dvid.at("created", "info"))
    assert info["Base"]["IgnoredSettings"] == ["CountLabels"]
    extended = info["Extended"]
    assert extended["MaxDownresLevel"] == 2
    assert extended["BlockSize"] == [64, 64, 64]


def test_a_malformed_setting_is_400_naming_it(dvid: Dvid) -> None:
    body = {**NEUCLEASE_LABELMAP, "dataname": "bad", "BlockSize": "64,64"}
    reply = dvid.request("POST", f"/api/repo/{dvid.node}/instance", json=body)
    assert reply.status_code == 400
    assert "blocksize" in reply.json()["error"].lower()


def test_mutations_add_their_user_and_app_to_the_node_log(dvid: Dvid) -> None:
    dvid.labelmap("logged")
    before = dvid.json(f"/api/node/{dvid.node}/log")["log"]
    dvid.ok(
        "POST",
        dvid.at("logged", "raw/0_1_2/8_8_8/0_0_0"),
        data=np.array([1, 2] * 256, "<u8").tobytes(),
    )
    dvid.ok("POST", dvid.at("logged", "merge"), json=[1, 2])
    added = dvid.json(f"/api/node/{dvid.node}/log")["log"][len(before) :]
    assert len(added) == 2, added
    assert all(f"u={USER}" in line and f"app={APP}" in line for line in added), added
