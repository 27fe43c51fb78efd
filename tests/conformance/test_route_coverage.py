"""Every labelmap and uint8blk route ``/api/help`` lists has a conformance case.

Runs after the other conformance modules (``conftest.pytest_collection_modifyitems``) and
checks the requests they made: a route listed in ``/api/help/{type}`` that no case called
fails here, so a new route cannot land without its conformance case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import Dvid

#: the datatypes this package covers
TYPENAMES = ("labelmap", "uint8blk")


def help_routes(dvid: Dvid, typename: str) -> list[tuple[str, str]]:
    """``(METHOD, /path/{param})`` of each endpoint line of ``/api/help/{typename}``."""
    text = dvid.ok("GET", f"/api/help/{typename}").text
    endpoints = text.split("Endpoints (under /api/node/{uuid}/{name}):", 1)[1]
    routes = []
    for line in endpoints.lstrip("\n").split("\n\n", 1)[0].splitlines():
        found = re.match(r"\s+([A-Z|]+)\s+(/\S*)", line)
        assert found, f"not an endpoint line: {line!r}"
        routes.extend((method, found.group(2)) for method in found.group(1).split("|"))
    return routes


def called(dvid: Dvid, typename: str, method: str, template: str) -> bool:
    pattern = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
    return any(t == typename and m == method and pattern.match(path) for t, m, path in dvid.calls)


def test_every_help_route_has_a_case(dvid: Dvid, request: pytest.FixtureRequest) -> None:
    modules = {Path(str(item.path)).name for item in request.session.items}
    mine = {p.name for p in Path(__file__).parent.glob("test_*.py")}
    if not mine <= modules:
        pytest.skip("route coverage is judged on a run of the whole conformance package")
    missing = [
        f"{typename}: {method} {path}"
        for typename in TYPENAMES
        for method, path in help_routes(dvid, typename)
        if not called(dvid, typename, method, path)
    ]
    assert not missing, "routes listed in /api/help without a conformance case:\n" + "\n".join(
        missing
    )
