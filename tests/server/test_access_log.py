"""``create_app(..., access_log=True)``: one JSON line per request with the request id,
method, path, route template, status, bytes both ways, duration and the user (the
authenticated one, else DVID's ``u=``); nothing when it is off (the default)."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.access_log import ACCESS_LOGGER

from .auth_env import make_auth_env

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def lines() -> Iterator[list[str]]:
    logger = logging.getLogger(ACCESS_LOGGER)
    handler = _Lines()
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


@pytest.fixture
def hub() -> Iterator[EmbeddedHub]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("demo").master
    node.create_volume("gray", "uint8", block_shape=(8, 8, 8))[0:2, 0:4, 0:8] = np.ones(
        (2, 4, 8), np.uint8
    )
    yield hub
    hub.close()


def test_one_line_per_request(hub: EmbeddedHub, lines: list[str]) -> None:
    uuid = hub.repo("demo").master.uuid
    with TestClient(create_app(hub, max_request_bytes=1024, access_log=True)) as client:
        ok = client.get(f"/api/node/{uuid}/gray/raw/0_1_2/8_4_2/0_0_0?u=alice&app=ng")
        missing = client.get("/api/node/ffffffff/gray/info")
        too_big = client.post("/api/repos", content=b"x" * 2048)
    assert (ok.status_code, missing.status_code, too_big.status_code) == (200, 404, 413)
    records = [json.loads(line) for line in lines]
    assert len(records) == 3
    first = records[0]
    assert first["method"] == "GET"
    assert first["path"] == f"/api/node/{uuid}/gray/raw/0_1_2/8_4_2/0_0_0"
    assert first["query"] == "u=alice&app=ng"
    assert (first["status"], first["bytes"]) == (200, 64)
    assert (first["user"], first["user_from"], first["app"]) == ("alice", "query", "ng")
    assert isinstance(first["ms"], float)
    assert first["ms"] >= 0
    assert [(r["method"], r["status"]) for r in records[1:]] == [("GET", 404), ("POST", 413)]
    assert records[1]["bytes"] == len(missing.content)
    assert "user" not in records[1]


def test_off_by_default(hub: EmbeddedHub, lines: list[str]) -> None:
    with TestClient(create_app(hub)) as client:
        assert client.get("/api/heartbeat").text == "OK"
    assert lines == []


def test_request_id_route_and_bytes_in(hub: EmbeddedHub, lines: list[str]) -> None:
    uuid = hub.repo("demo").master.uuid
    with TestClient(create_app(hub, access_log=True)) as client:
        given = client.get(f"/api/node/{uuid}/gray/info", headers={"X-Request-ID": "trace-7"})
        fresh = client.post(f"/api/node/{uuid}/gray/raw/0_1_2/8_4_2/0_0_0", content=b"\1" * 64)
        unknown = client.get(f"/api/node/{uuid}/gray/nothing-here")
    assert (given.status_code, fresh.status_code, unknown.status_code) == (200, 200, 404)
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == [
        "trace-7",
        fresh.headers["x-request-id"],
        unknown.headers["x-request-id"],
    ]
    assert [r["route"] for r in records] == [
        "/api/node/{uuid}/{name}/info",
        "/api/node/{uuid}/{name}/raw/{dims}/{size}/{offset}",
        "/api/node/{uuid}/{name}/{rest}",  # the instance has no such route
    ]
    assert [(r["bytes_in"], r["bytes"]) for r in records[:2]] == [
        (0, len(given.content)),
        (64, len(fresh.content)),
    ]


def test_the_authenticated_user_wins_over_dvid_u(lines: list[str]) -> None:
    with EmbeddedHub.open("memory://") as hub:
        env, config = make_auth_env(hub)
        with TestClient(create_app(hub, auth=config, access_log=True)) as client:
            client.get("/api/heartbeat?u=mallory", headers=env.as_user("reader"))
            client.get("/api/heartbeat?u=dave")  # anonymous: only the self-declared name
            client.get(f"/api/node/{env.uuid}/gray/info", headers=env.as_user("outsider"))
    records = [json.loads(line) for line in lines]
    assert [(r.get("user"), r.get("user_from"), r["status"]) for r in records] == [
        ("reader", None, 200),
        ("dave", "query", 200),
        ("outsider", None, 403),  # refused requests name their user too
    ]
