"""Token authentication over HTTP: what each role may do, and each refusal (401/403)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from .auth_env import AuthEnv, open_auth_env


@pytest.fixture
def auth_env() -> Iterator[AuthEnv]:
    with open_auth_env() as env:
        yield env


RAW = "raw/0_1_2/16_8_4/0_0_0"


def _get(env: AuthEnv, user: str | None, path: str) -> int:
    return env.client.get(path, headers=env.as_user(user)).status_code


def _post(env: AuthEnv, user: str | None, path: str, **kw: object) -> int:
    return env.client.post(path, headers=env.as_user(user), **kw).status_code  # type: ignore[arg-type]


def test_anonymous_caller_gets_401_naming_the_bearer_scheme(auth_env: AuthEnv) -> None:
    r = auth_env.client.get(f"/api/node/{auth_env.uuid}/gray/{RAW}")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json()["type"] == "Unauthorized"
    assert "Authorization: Bearer" in r.json()["error"]
    assert (
        _post(auth_env, None, f"/api/node/{auth_env.uuid}/gray/{RAW}", content=b"\0" * 512) == 401
    )
    assert _post(auth_env, None, "/api/repos", json={"alias": "x"}) == 401
    assert _get(auth_env, None, f"/api/voxhub/node/{auth_env.uuid}") == 401


def test_public_routes_need_no_token(auth_env: AuthEnv) -> None:
    for path in ("/api/heartbeat", "/api/server/info", "/api/help", "/api/openapi.json"):
        assert _get(auth_env, None, path) == 200, path


def test_only_administrators_see_where_the_store_lives(auth_env: AuthEnv) -> None:
    info = auth_env.client.get("/api/server/info").json()
    assert info["Storage backend"] == "memory"
    admin = auth_env.client.get("/api/server/info", headers=auth_env.as_user("root")).json()
    assert admin["Storage backend"] == auth_env.hub.service.store.spec()


def test_unknown_or_revoked_token_is_refused_everywhere(auth_env: AuthEnv) -> None:
    bad = {"Authorization": "Bearer vxh_not-a-token"}
    r = auth_env.client.get("/api/heartbeat", headers=bad)
    assert r.status_code == 401
    assert "not valid" in r.json()["error"]
    assert _get(auth_env, "reader", f"/api/node/{auth_env.uuid}/gray/info") == 200
    auth_env.auth.revoke_token("reader", None)
    assert _get(auth_env, "reader", f"/api/node/{auth_env.uuid}/gray/info") == 401
    auth_env.auth.remove_user("writer")
    assert _get(auth_env, "writer", "/api/heartbeat") == 401


def test_an_expired_token_is_refused(auth_env: AuthEnv) -> None:
    month, _ = auth_env.auth.create_token("reader", days=30)
    gone, _ = auth_env.auth.create_token("reader", days=1e-9)  # expired as soon as made
    path = f"/api/node/{auth_env.uuid}/gray/info"
    assert (
        auth_env.client.get(path, headers={"Authorization": f"Bearer {month}"}).status_code == 200
    )
    r = auth_env.client.get(path, headers={"Authorization": f"Bearer {gone}"})
    assert r.status_code == 401
    assert "expired" in r.json()["error"]


def test_user_without_role_gets_403_and_sees_no_repo(auth_env: AuthEnv) -> None:
    r = auth_env.client.get(
        f"/api/node/{auth_env.uuid}/gray/info", headers=auth_env.as_user("outsider")
    )
    assert r.status_code == 403
    assert r.json()["type"] == "Forbidden"
    assert "outsider" in r.json()["error"]
    listed = auth_env.client.get("/api/repos/info", headers=auth_env.as_user("outsider")).json()
    assert list(listed) == [auth_env.other.uuid]
    own = auth_env.client.get("/api/voxhub/repos", headers=auth_env.as_user("outsider")).json()
    assert [r["alias"] for r in own] == ["other"]
    assert auth_env.client.get("/api/repos/info").json() == {}  # anonymous: nothing


def test_reader_reads_but_cannot_write(auth_env: AuthEnv) -> None:
    env, u = auth_env, auth_env.uuid
    r = env.client.get(f"/api/node/{u}/gray/{RAW}", headers=env.as_user("reader"))
    assert r.status_code == 200
    assert np.frombuffer(r.content, np.uint8)[5] == 5
    reads = ["note", "log", "status"]
    paths = [f"/api/node/{u}/{r}" for r in reads] + [f"/api/repo/{u}/{r}" for r in ("info", "log")]
    paths += [f"/api/voxhub/repo/{u}/nodes", f"/api/voxhub/node/{u}/lineage"]
    for path in [*paths, "/ca/demo/gray/raw/0/0,16/0,8/0,4"]:
        assert _get(env, "reader", path) == 200, path
    assert _post(env, "reader", f"/api/node/{u}/gray/{RAW}", content=b"\0" * 512) == 403
    assert _post(env, "reader", f"/api/node/{u}/commit", json={}) == 403
    assert _post(env, "reader", f"/api/node/{u}/note", json={"note": "x"}) == 403
    assert _post(env, "reader", f"/api/voxhub/node/{u}/instance", json={"name": "x"}) == 403
    assert env.hub.node(u).info.locked is False


def test_writer_writes_and_commits_but_cannot_administer(auth_env: AuthEnv) -> None:
    env, u = auth_env, auth_env.uuid
    assert _post(env, "writer", f"/api/node/{u}/gray/{RAW}", content=b"\1" * 512) == 200
    assert env.hub.node(u).volume("gray")[0, 0, 0] == 1
    assert _post(env, "writer", f"/api/repo/{u}/info", json={"alias": "renamed"}) == 403
    assert _post(env, "writer", "/api/repos", json={"alias": "mine"}) == 403
    assert _post(env, "writer", f"/api/node/{u}/commit", json={}) == 200
    assert _post(env, "writer", f"/api/node/{u}/newversion", json={}) == 200
    # another repo: no role there
    assert _post(env, "writer", f"/api/node/{env.other.uuid}/note", json={"note": "x"}) == 403


def test_repo_admin_administers_its_repo_only(auth_env: AuthEnv) -> None:
    env = auth_env
    assert _post(env, "owner", f"/api/repo/{env.uuid}/info", json={"description": "d"}) == 200
    assert _post(env, "owner", f"/api/voxhub/repo/{env.uuid}", json={"description": "e"}) == 200
    assert _post(env, "owner", f"/api/repo/{env.other.uuid}/info", json={"alias": "x"}) == 403
    assert _post(env, "owner", "/api/repos", json={"alias": "mine"}) == 403


def test_server_admin_may_do_anything(auth_env: AuthEnv) -> None:
    env = auth_env
    r = env.client.post("/api/repos", json={"alias": "new"}, headers=env.as_user("root"))
    assert r.status_code == 200
    assert _post(env, "root", f"/api/repo/{env.other.uuid}/info", json={"alias": "o2"}) == 200
    assert len(env.client.get("/api/repos/info", headers=env.as_user("root")).json()) == 3


def test_ndstore_routes_follow_the_repo_roles(auth_env: AuthEnv) -> None:
    import io

    buf = io.BytesIO()
    np.save(buf, np.zeros((1, 4, 8, 16), np.uint8))
    import zlib

    body = zlib.compress(buf.getvalue())
    url = "/ca/demo/gray/npz/0/0,16/0,8/0,4/"
    assert _get(auth_env, "reader", url) == 200
    assert _get(auth_env, None, url) == 401
    assert _get(auth_env, "outsider", url) == 403
    assert _post(auth_env, "reader", url, content=body) == 403
    assert _post(auth_env, "writer", url, content=body) == 200


def test_diff_needs_read_of_both_nodes(auth_env: AuthEnv) -> None:
    env = auth_env
    path = f"/api/voxhub/node/{env.uuid}/diff/{env.other.uuid}/gray"
    assert _get(env, "reader", path) == 403  # no role in "other"
    assert _get(env, "root", path) != 403


def test_token_user_is_the_recorded_user(auth_env: AuthEnv) -> None:
    env = auth_env
    url = f"/api/node/{env.uuid}/log?u=mallory&app=neutu"
    assert _post(env, "writer", url, json={"log": ["painted"]}) == 200
    (line,) = env.client.get(url, headers=env.as_user("writer")).json()["log"]
    assert line.endswith(" u=writer app=neutu: painted")


def test_user_is_exposed_on_the_asgi_scope(auth_env: AuthEnv) -> None:
    seen: list[object] = []
    app = auth_env.client.app

    async def spy(scope, receive, send):  # type: ignore[no-untyped-def]
        await app(scope, receive, send)
        if scope["type"] == "http":
            seen.append(scope.get("state", {}).get("user"))

    from starlette.testclient import TestClient

    with TestClient(spy) as client:
        client.get("/api/heartbeat", headers=auth_env.as_user("reader"))
        client.get("/api/heartbeat")
    assert seen == ["reader", None]


def test_browser_cookie_login_token_and_logout(auth_env: AuthEnv) -> None:
    c = auth_env.client
    assert c.post("/api/server/login", json={"token": "vxh_wrong"}).status_code == 401
    assert "log in" in c.get("/").text
    assert "<form" in c.get("/api/server/login").text
    r = c.post(
        "/api/server/login", data={"token": auth_env.tokens["reader"]}, follow_redirects=False
    )
    assert r.status_code == 303  # a browser's form goes back to the home page
    assert r.headers["location"] == "/"
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=lax" in r.headers["set-cookie"].lower()
    assert c.get(f"/api/node/{auth_env.uuid}/gray/info").status_code == 200  # the cookie
    assert c.get("/api/server/token").text == auth_env.tokens["reader"]  # neuroglancer's route
    assert "logged in as reader" in c.get("/").text
    assert c.get("/api/voxhub/whoami").json()["user"] == "reader"
    c.post("/api/server/logout")
    assert c.get(f"/api/node/{auth_env.uuid}/gray/info").status_code == 401
    r = c.post("/api/server/login", json={"token": auth_env.tokens["writer"]})
    assert r.json() == {"user": "writer"}
    assert c.get("/api/voxhub/whoami").json()["user"] == "writer"
    c.post("/api/server/logout")
    assert c.get(f"/api/node/{auth_env.uuid}/gray/info").status_code == 401
    assert c.get("/api/server/token").status_code == 401


def test_whoami_names_roles(auth_env: AuthEnv) -> None:
    me = auth_env.client.get("/api/voxhub/whoami", headers=auth_env.as_user("writer")).json()
    assert me == {
        "user": "writer",
        "admin": False,
        "roles": {auth_env.uuid: "write"},
        "auth": "tokens",
    }


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_instance_routes_check_every_method(auth_env: AuthEnv, method: str) -> None:
    path = f"/api/node/{auth_env.uuid}/gray/no-such-endpoint"
    r = auth_env.client.request(method, path, headers=auth_env.as_user("outsider"))
    assert r.status_code == 403
    expected = 404 if method == "GET" else 403  # readers read, and the endpoint is unknown
    assert (
        auth_env.client.request(method, path, headers=auth_env.as_user("reader")).status_code
        == expected
    )
