"""The Host allow-list against DNS rebinding: a page whose name was rebound to 127.0.0.1
passes the cross-origin rules (it *is* same-origin) but still says ``Host: its-name``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from voxhub.client import EmbeddedHub, Node
from voxhub.server import create_app
from voxhub.server.app import app_from_env
from voxhub.server.hosts import ALLOWED_HOSTS_ENV, HostPolicy

from .asgi_call import call


@pytest.fixture
def node() -> Iterator[Node]:
    hub = EmbeddedHub.open("memory://")
    yield hub.create_repo("r").master
    hub.close()


def test_rebound_page_cannot_write_or_read(node: Node) -> None:
    app = create_app(node.hub, allowed_hosts=[])
    rebound = {"Origin": "http://attacker.example:8000", "Content-Type": "text/plain"}
    host = "attacker.example:8000"
    write = call(app, "POST", f"/api/node/{node.uuid}/note", rebound, b'{"note": "x"}', host=host)
    assert write.status == 421
    error = json.loads(write.body)
    assert error["type"] == "HostNotAllowed"
    assert "'attacker.example'" in error["error"]
    assert "--allowed-host" in error["error"]
    assert write.reads == 0
    assert node.note != "x"
    assert call(app, "GET", "/api/repos/info", host=host).status == 421


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8000", "LOCALHOST.", "127.0.0.1:8000", "[::1]:8000", "10.1.2.3"],
)
def test_loopback_names_and_addresses_are_served_by_default(node: Node, host: str) -> None:
    app = create_app(node.hub, allowed_hosts=[])
    assert call(app, "GET", "/api/repos/info", host=host).status == 200


def test_named_and_wildcard_hosts(node: Node) -> None:
    app = create_app(node.hub, allowed_hosts=["data.lab.org", "*.viewers.org"])
    for good in ("data.lab.org:8443", "ng.viewers.org", "a.b.viewers.org"):
        assert call(app, "GET", "/api/repos/info", host=good).status == 200, good
    for bad in ("lab.org", "evil-data.lab.org", "viewers.org", "xviewers.org"):
        assert call(app, "GET", "/api/repos/info", host=bad).status == 421, bad


def test_star_allows_any_host_and_bind_addresses_name_none() -> None:
    assert HostPolicy.of(["*"]).allows("anything.example")
    assert not HostPolicy.of(["0.0.0.0", "::", ""]).allows("anything.example")
    with pytest.raises(ValueError, match="allowed host"):
        HostPolicy.of(["data.*.org"])


def test_factory_checks_hosts_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOXHUB_STORE", "memory://")
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "data.lab.org")
    app = app_from_env()
    assert call(app, "GET", "/api/repos/info", host="data.lab.org").status == 200
    assert call(app, "GET", "/api/repos/info", host="localhost").status == 200
    assert call(app, "GET", "/api/repos/info", host="attacker.example").status == 421
    monkeypatch.delenv(ALLOWED_HOSTS_ENV)
    assert call(app_from_env(), "GET", "/", host="attacker.example").status == 421
