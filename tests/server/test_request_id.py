"""Every response carries ``X-Request-ID``: the client's own when sane, else a fresh one."""

from __future__ import annotations

import re

import pytest

from .conftest import LIMIT, Env

FRESH = re.compile(r"[0-9a-f]{32}")


def test_a_sane_incoming_id_round_trips(env: Env) -> None:
    for rid in ("abc", "req-42.a:b", "Root=1-5759e988-bd862e3fe1be46a9;Parent=53995c3f", "x" * 128):
        reply = env.client.get("/api/heartbeat", headers={"X-Request-ID": rid})
        assert reply.headers["x-request-id"] == rid


def test_without_one_each_response_gets_a_fresh_id(env: Env) -> None:
    ids = [env.client.get("/api/heartbeat").headers["x-request-id"] for _ in range(5)]
    assert all(FRESH.fullmatch(i) for i in ids)
    assert len(set(ids)) == 5


@pytest.mark.parametrize(
    "rid", [b"", b"x" * 129, b"two words", b"caf\xe9", b"a\tb", b'{"json":1}', b"<script>"]
)
def test_an_insane_incoming_id_is_replaced(env: Env, rid: bytes) -> None:
    reply = env.client.get("/api/heartbeat", headers=[(b"X-Request-ID", rid)])
    assert FRESH.fullmatch(reply.headers["x-request-id"])


def test_errors_and_refusals_carry_the_id_too(env: Env) -> None:
    missing = env.client.get("/api/node/ffffffff/gray/info", headers={"X-Request-ID": "r1"})
    too_big = env.client.post(
        "/api/repos", content=b"x" * (LIMIT + 1), headers={"X-Request-ID": "r2"}
    )
    preflight = env.client.options(
        "/api/repos",
        headers={
            "X-Request-ID": "r3",
            "Origin": "http://viewer.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert (missing.status_code, too_big.status_code) == (404, 413)
    assert [r.headers["x-request-id"] for r in (missing, too_big, preflight)] == ["r1", "r2", "r3"]
