"""End to end: the real ``voxhub serve`` (two uvicorn workers over one LMDB store) driven
with plain HTTP requests written the way DVID clients write them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from voxhub.testing.server import start_server

DVID = {"u": "alice", "app": "pyclient"}  # every DVID client request carries these


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    proc = start_server(tmp_path / "store", workers=2, extra_args=("--access-log",))
    try:
        yield proc.url
    finally:
        out = proc.stop()
    assert f"http://localhost:{proc.port}/" in out
    # --access-log: one JSON line per request, from whichever worker served it
    logged = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    created = [r for r in logged if (r["method"], r["path"]) == ("POST", "/api/repos")]
    assert len(created) == 1
    assert (created[0]["status"], created[0]["user"], created[0]["app"]) == (200, *DVID.values())


def test_dvid_client_session(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        root = http.post("/api/repos", params=DVID, json={"alias": "fib", "description": "d"})
        uuid = root.json()["root"]
        settings = {
            "typename": "uint8blk",
            "dataname": "grayscale",
            "versioned": "true",
            "BlockSize": "32,32,32",
            "VoxelSize": "8,8,8",
            "VoxelUnits": "nanometers",
        }
        created = http.post(f"/api/repo/{uuid}/instance", params=DVID, json=settings)
        assert created.json()["result"].startswith("Added grayscale [uint8blk]")

        data = np.arange(4 * 8 * 16, dtype=np.uint8).reshape(4, 8, 16)  # z, y, x
        raw = f"/api/node/{uuid[:6]}/grayscale/raw/0_1_2/16_8_4/0_0_0"  # sizes x_y_z
        assert http.post(raw, params=DVID, content=data.tobytes()).status_code == 200
        back = http.get(raw, params=DVID)
        assert np.array_equal(np.frombuffer(back.content, np.uint8).reshape(4, 8, 16), data)

        assert http.get(f"/api/node/{uuid}/commit", params=DVID).json() == {"Locked": False}
        done = http.post(f"/api/node/{uuid}/commit", params=DVID, json={"note": "v1", "log": ["x"]})
        assert done.json() == {"committed": uuid}
        assert http.get(f"/api/node/{uuid}/commit", params=DVID).json() == {"Locked": True}
        log = http.get(f"/api/node/{uuid}/log", params=DVID).json()["log"]
        assert log[-1].endswith("u=alice app=pyclient: x")
        refused = http.post(raw, params=DVID, content=data.tobytes())
        assert refused.status_code == 409

        child = http.post(f"/api/node/{uuid}/newversion", params=DVID, json={"note": "n"})
        child_uuid = child.json()["child"]
        info = http.get("/api/repos/info", headers={"Origin": "http://ng.example"})
        assert info.headers["access-control-allow-origin"] == "*"
        repo = info.json()[uuid]
        assert set(repo["DAG"]["Nodes"]) == {uuid, child_uuid}
        assert repo["DataInstances"]["grayscale"]["Extended"]["MaxPoint"] == [15, 7, 3]
        missing = http.get("/api/node/ffffffff/grayscale/info", params=DVID)
        assert missing.status_code == 404


def test_start_server_tries_another_port_when_the_one_picked_was_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from voxhub.testing import server as launcher

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    picked: list[int] = []
    fresh = launcher.free_port

    def first_one_taken() -> int:
        picked.append(taken.getsockname()[1] if not picked else fresh())
        return picked[-1]

    monkeypatch.setattr(launcher, "free_port", first_one_taken)
    try:
        served = launcher.start_server(tmp_path / "store")
        try:
            assert len(picked) == 2  # the first one was refused by voxhub serve
            assert served.port == picked[1]
            assert httpx.get(f"{served.url}/api/heartbeat").text == "OK"
        finally:
            served.stop()
    finally:
        taken.close()
