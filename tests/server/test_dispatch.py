"""Instance routes are mounted under /api/node/{uuid}/{name}/ with node, instance, store
access, limit and caller resolved into a typed InstanceContext; a fake datatype stands in
for real ones."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from voxhub.datatypes import registry
from voxhub.datatypes.wire.context import InstanceContext, instance_context, instance_route
from voxhub.errors import VersionLocked

from .conftest import LIMIT, Env


async def _echo(request: Request, ctx: InstanceContext) -> Response:
    """Echo what the dispatcher resolved."""
    assert instance_context(request) is ctx
    return JSONResponse(
        {
            "node": ctx.node_uuid,
            "instance": ctx.instance.name,
            "type": ctx.instance.typename,
            "arg": request.path_params["arg"],
            "repos": [r.alias for r in ctx.access.catalog.repos()],
            "limit": ctx.max_request_bytes,
            "user": ctx.caller.user,
            "app": ctx.caller.app,
        }
    )


async def _locked(request: Request, ctx: InstanceContext) -> Response:
    """Always refuses, as a write to a committed node would."""
    raise VersionLocked("node is committed")


def _fake_routes() -> list[BaseRoute]:
    return [
        instance_route("/echo/{arg}", _echo, methods=["GET"]),
        instance_route("/write", _locked, methods=["POST"]),
    ]


@pytest.fixture
def fake(env: Env, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    registry.typenames()  # load the built-ins before adding to the registry
    fake = registry.Datatype("fake", ("fakeblk",), bytes.hex, "fake", routes=_fake_routes)
    bare = registry.Datatype("bare", ("bareblk",), bytes.hex, "no routes")
    monkeypatch.setitem(registry._registry, "fakeblk", fake)
    monkeypatch.setitem(registry._registry, "bareblk", bare)
    env.hub.catalog.create_instance(env.uuid, "thing", "fakeblk", {})
    env.hub.catalog.create_instance(env.uuid, "plain", "bareblk", {})
    return env


def test_routes_get_resolved_node_and_instance(fake: Env) -> None:
    c = fake.client
    for ref in (fake.uuid, fake.uuid[:4], ":master", f"{fake.uuid}:master"):
        r = c.get(f"/api/node/{ref}/thing/echo/42?u=me&app=test")
        assert r.json() == {
            "node": fake.uuid,
            "instance": "thing",
            "type": "fakeblk",
            "arg": "42",
            "repos": ["demo"],
            "limit": LIMIT,
            "user": "me",
            "app": "test",
        }
    assert c.get(f"/api/node/{fake.uuid}/thing/echo/7/").json()["arg"] == "7"


def test_dispatch_errors(fake: Env) -> None:
    c, base = fake.client, f"/api/node/{fake.uuid}"
    assert c.get("/api/node/ffffffff/thing/echo/1").status_code == 404
    r = c.get(f"{base}/nothing/echo/1")
    assert r.status_code == 404
    assert "nothing" in r.json()["error"]
    r = c.get(f"{base}/thing/missing")
    assert r.status_code == 404
    assert "/missing" in r.json()["error"]
    assert "thing" in r.json()["error"]
    assert c.post(f"{base}/thing/write").status_code == 409
    assert c.get(f"{base}/plain/anything").status_code == 501


def test_real_image_routes_are_mounted(env: Env) -> None:
    r = env.client.get(f"/api/node/{env.uuid[:8]}/gray/info")
    assert r.status_code == 200
    assert r.json()["Base"]["Name"] == "gray"


def test_ndstore_cutouts_are_mounted(env: Env) -> None:
    r = env.client.get("/ca/demo/gray/raw/0/0,16/0,8/0,4/")
    assert r.status_code == 200
    expected = np.arange(4 * 8 * 16, dtype=np.uint8).tobytes()
    assert r.content == expected
