"""No cross-site writes: any origin reads, only a token or a trusted origin writes.

A web page the operator has open can send "simple" requests (``text/plain``, forms) to a
server on 127.0.0.1 without a preflight; those are the forged writes refused here, with
403 naming the origin and before the body is read. Cookies do not count as a token.
"""

from __future__ import annotations

import json

import pytest

from voxhub.client import EmbeddedHub
from voxhub.server import create_app

from .asgi_call import call
from .auth_env import open_auth_env
from .conftest import Env

EVIL = "http://evil.example"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL, "Content-Type": "text/plain"},
        {"Origin": EVIL, "Content-Type": "application/x-www-form-urlencoded"},
        {"Origin": EVIL, "Content-Type": "multipart/form-data; boundary=x"},
        {"Origin": "null", "Content-Type": "text/plain"},  # sandboxed frame, file: page
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:3000"},
        {"Origin": EVIL, "Cookie": "voxhub_token=secret"},  # what CSRF rides on
        {"Origin": EVIL, "Authorization": "Basic dTpw"},  # browsers may add it unasked
        {"Origin": EVIL, "Authorization": "Bearer "},
        {"Origin": EVIL, "Authorization": "Bearer made-up"},  # auth off: checks no token
    ],
)
def test_cross_site_write_without_a_token_is_refused(env: Env, headers: dict[str, str]) -> None:
    body = json.dumps({"note": "pwned"}).encode()
    r = env.client.post(f"/api/node/{env.uuid}/note", content=body, headers=headers)
    assert r.status_code == 403
    assert r.json()["type"] == "CrossSiteRefused"
    assert "--allow-origin" in r.json()["error"]
    assert "Authorization" in r.json()["error"]
    assert "access-control-allow-origin" not in r.headers
    assert env.root.note != "pwned"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_refused_before_the_body_is_read(env: Env, method: str) -> None:
    app = create_app(env.hub)
    answer = call(app, method, f"/api/node/{env.uuid}/note", {"Origin": EVIL}, b'{"note": "x"}')
    assert answer.status == 403
    assert EVIL in json.loads(answer.body)["error"]
    assert answer.reads == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, scripts, the Python client: no browser, no forgery
        {"Origin": "http://testserver"},  # the server's own pages
        {"Origin": "http://TESTSERVER:80"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed by the user
    ],
)
def test_same_origin_token_and_non_browser_writes_pass(env: Env, headers: dict[str, str]) -> None:
    r = env.client.post(f"/api/node/{env.uuid}/note", json={"note": "kept"}, headers=headers)
    assert r.status_code == 200, r.text
    assert env.root.note == "kept"


def test_with_authentication_on_a_token_writes_from_any_origin_a_cookie_does_not() -> None:
    with open_auth_env() as auth:
        note = f"/api/node/{auth.uuid}/note"
        token = auth.client.post(
            note, json={"note": "t"}, headers={"Origin": EVIL, **auth.as_user("writer")}
        )
        assert token.status_code == 200
        assert token.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in token.headers
        made_up = {"Origin": EVIL, "Authorization": "Bearer made-up"}
        assert auth.client.post(note, json={"note": "x"}, headers=made_up).status_code == 401
        cookie = {"Origin": EVIL, "Cookie": f"voxhub_token={auth.tokens['writer']}"}
        forged = auth.client.post(note, json={"note": "x"}, headers=cookie)
        assert forged.status_code == 403
        assert forged.json()["type"] == "CrossSiteRefused"
        same = {"Origin": "http://testserver", "Cookie": cookie["Cookie"]}
        assert auth.client.post(note, json={"note": "c"}, headers=same).status_code == 200
        assert auth.root.note == "c"
        granted = auth.client.options(
            note,
            headers={
                "Origin": EVIL,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert granted.headers["access-control-allow-origin"] == "*"


def test_allowed_origins_write_with_their_origin_echoed() -> None:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("r").master
    app = create_app(hub, allow_origins=["https://viewer.example.org:443/"])
    allowed = {"Origin": "https://viewer.example.org", "Content-Type": "text/plain"}
    answer = call(app, "POST", f"/api/node/{node.uuid}/note", allowed, b'{"note": "ok"}')
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == "https://viewer.example.org"
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in answer.headers["vary"]
    assert node.note == "ok"
    read = call(app, "GET", "/api/server/info", {"Origin": "https://viewer.example.org"})
    assert read.headers["access-control-allow-origin"] == "https://viewer.example.org"
    assert read.headers["access-control-allow-credentials"] == "true"
    anyone = call(app, "GET", "/api/server/info", {"Origin": EVIL})
    assert anyone.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in anyone.headers
    assert "Origin" in anyone.headers["vary"]  # the answer depends on the origin
    other = {"Origin": "https://viewer.example.org:8443"}  # another port: another origin
    assert call(app, "POST", f"/api/node/{node.uuid}/note", other, b"{}").status == 403
    hub.close()


def test_reads_from_any_origin_are_allowed_without_credentials(env: Env) -> None:
    for origin in (EVIL, "null"):
        r = env.client.get("/api/repos/info", headers={"Origin": origin})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers


def preflight(env: Env, method: str, origin: str, asked: str = "") -> dict[str, str]:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if asked:
        headers["Access-Control-Request-Headers"] = asked
    r = env.client.options(f"/api/node/{env.uuid}/note", headers=headers)
    return {"status": str(r.status_code), **r.headers}


def test_preflights_for_writes_are_granted_only_to_trusted_origins_or_tokens(env: Env) -> None:
    refused = preflight(env, "POST", EVIL, "content-type")
    assert refused["status"] == "403"
    assert "access-control-allow-origin" not in refused
    assert preflight(env, "DELETE", "null", "content-type")["status"] == "403"

    same = preflight(env, "PUT", "http://testserver", "content-type")
    assert same["access-control-allow-origin"] == "http://testserver"

    # authentication off: a made-up token would pass, so announcing one earns nothing
    assert preflight(env, "POST", EVIL, "Content-Type, Authorization")["status"] == "403"

    read = preflight(env, "GET", EVIL, "range")
    assert read["access-control-allow-origin"] == "*"
    assert "GET" in read["access-control-allow-methods"]


@pytest.mark.parametrize(
    "origin", ["null", "*", "viewer.example.org", "ftp://x.org", "http://x.org/path"]
)
def test_bad_allowed_origins_are_refused_at_startup(origin: str) -> None:
    hub = EmbeddedHub.open("memory://")
    with pytest.raises(ValueError, match="origin"):
        create_app(hub, allow_origins=[origin])
    hub.close()
