"""Server-level routes, help, OpenAPI and the home page."""

from __future__ import annotations

import re

from starlette.routing import Route

from voxhub.server.routes_server import voxhub_version

from .conftest import Env


def test_repos_info_satisfies_neuroglancer(env: Env) -> None:
    env.hub.create_repo()  # a repo with no alias or description must not break the parse
    info = env.client.get("/api/repos/info").json()
    assert len(info) == 2
    for root, repo in info.items():
        assert repo["Root"] == root
        assert isinstance(repo["Alias"], str)
        assert isinstance(repo["Description"], str)
        assert isinstance(repo["DataInstances"], dict)
        assert root in repo["DAG"]["Nodes"]
    gray = info[env.uuid]["DataInstances"]["gray"]
    assert gray["Base"]["TypeName"] == "uint8blk"
    assert isinstance(gray["Base"]["Compression"], str)
    assert gray["Extended"]["MinPoint"] == [0, 0, 0]
    assert gray["Extended"]["MaxPoint"] == [15, 7, 3]  # x, y, z inclusive
    node = info[env.uuid]["DAG"]["Nodes"][env.uuid]
    assert node["Branch"] == ""
    assert node["Locked"] is False
    assert node["UUID"] == env.uuid


def test_create_repo(env: Env) -> None:
    r = env.client.post("/api/repos", json={"alias": "a", "description": "d"})
    root = r.json()["root"]
    assert env.hub.repo(root).alias == "a"
    wanted = "ab" * 16
    assert env.client.post("/api/repos", json={"root": wanted}).json() == {"root": wanted}
    assert env.client.post("/api/repos", json={"root": wanted}).status_code == 409
    bad = env.client.post("/api/repos", json={"root": "xyz"})
    assert bad.status_code == 400
    assert "32 hex" in bad.json()["error"]
    assert env.client.post("/api/repos", json={"alias": 3}).status_code == 400
    assert env.client.post("/api/repos", content=b"{nope").status_code == 400
    assert env.client.post("/api/repos", content=b"[1]").status_code == 400


def test_server_info_and_types(env: Env) -> None:
    info = env.client.get("/api/server/info").json()
    assert all(isinstance(v, str) for v in info.values())
    assert info["Storage backend"] == "memory://"
    # DVID's format, parsed as neuclease parses it (integers split on "." and "-")
    version = info["DVID Version"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", version), version
    assert tuple(int(p) for p in re.split(r"[.-]", version[1:])[:4]) >= (0, 8, 24, 15)
    assert info["voxhub Version"] == voxhub_version()
    assert list(env.client.get("/api/server/types").json()) == ["uint8blk"]
    assert "uint16blk" in env.client.get("/api/server/compiled-types").json()
    assert env.client.get("/api/heartbeat").text == "OK"


def test_help(env: Env) -> None:
    page = env.client.get("/api/help")
    assert page.headers["content-type"].startswith("text/html")
    assert "/api/help/uint8blk" in page.text
    assert "409" in page.text
    text = env.client.get("/api/help/uint8blk")
    assert text.headers["content-type"].startswith("text/plain")
    assert "/raw/" in text.text
    assert "Differences from DVID" in text.text
    missing = env.client.get("/api/help/nosuchtype")
    assert missing.status_code == 404
    assert "nosuchtype" in missing.json()["error"]


def test_openapi_describes_every_route(env: Env) -> None:
    doc = env.client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    app_routes = [r for r in env.client.app.routes if isinstance(r, Route)]  # type: ignore[attr-defined]
    for route in app_routes:
        if "{rest:path}" in route.path or route.path == "/api/node/{uuid}/{name}":
            continue
        assert route.path in doc["paths"], route.path
    assert "post" in doc["paths"]["/api/repo/{uuid}/merge"]
    assert any(p.startswith("/api/node/{uuid}/{name}/raw") for p in doc["paths"])


def test_home_page_lists_repos_and_slices(env: Env) -> None:
    page = env.client.get("/").text
    assert "demo" in page
    assert env.uuid in page
    assert "gray" in page
    assert 'type="range"' in page
    assert "/raw/xy/" in page
    empty = env.client.get("/api/node/nope/status")
    assert empty.status_code == 404


def test_unknown_route_is_json_404(env: Env) -> None:
    r = env.client.get("/api/nothing/here")
    assert r.status_code == 404
    assert "/api/nothing/here" in r.json()["error"]
    assert env.client.put("/api/repos/info").status_code == 405


def test_home_page_views_only_what_a_png_slice_holds(env: Env) -> None:
    env.root.create_labels("seg", block_shape=(16, 16, 16))
    env.root.create_volume("ids", "uint64", block_shape=(8, 8, 8))
    page = env.client.get("/").text
    assert page.count('type="range"') == 1  # gray only
    assert "<b>seg</b> [labelmap] uint64, extents" in page
    assert "<b>ids</b> [uint64blk] uint64, extents" in page
