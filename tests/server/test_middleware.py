"""Body limit (413 naming the limit), CORS, and the tolerated trailing slash."""

from __future__ import annotations

from collections.abc import Iterator

from .conftest import LIMIT, Env


def test_body_over_the_limit_is_413_before_reading(env: Env) -> None:
    r = env.client.post(
        f"/api/node/{env.uuid}/log",
        content=b"x" * (LIMIT + 1),
        headers={"Origin": "http://testserver"},
    )
    assert r.status_code == 413
    assert str(LIMIT) in r.json()["error"]
    assert r.headers["access-control-allow-origin"] == "http://testserver"


def test_streamed_body_over_the_limit_is_413(env: Env) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b"x" * (LIMIT // 2)

    r = env.client.post(f"/api/node/{env.uuid}/log", content=chunks())
    assert r.status_code == 413
    assert str(LIMIT) in r.json()["error"]
    assert env.root.info.log == ()  # nothing written


def test_cors_preflight_and_headers_on_errors(env: Env) -> None:
    origin = {"Origin": "http://neuroglancer.example"}
    pre = env.client.options(
        "/api/repos",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Range",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "GET" in pre.headers["access-control-allow-methods"]
    assert (
        env.client.get("/api/repos/info", headers=origin).headers["access-control-allow-origin"]
        == "*"
    )
    missing = env.client.get("/api/node/ffffffff/status", headers=origin)
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == "*"


def test_trailing_slash_is_tolerated_without_redirect(env: Env) -> None:
    r = env.client.post(f"/api/node/{env.uuid}/note/", json={"note": "n"}, follow_redirects=False)
    assert r.status_code == 200
    assert env.root.note == "n"
    assert env.client.get("/api/repos/info/", follow_redirects=False).status_code == 200
