"""Every labelmap, uint8blk and roi route ``/api/help`` lists has a conformance case.

A case declares the routes it covers (``@pytest.mark.covers``; ``conftest`` checks it
really calls them). Here the declarations of every collected conformance case are
compared with ``/api/help/{type}``: a listed route without a case fails, so a new route
cannot land without one, and a declaration naming a route the help does not list fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import Dvid, covered

#: the datatypes this package covers
TYPENAMES = ("labelmap", "uint8blk", "roi", "keyvalue")


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


def test_every_help_route_has_a_case(dvid: Dvid, request: pytest.FixtureRequest) -> None:
    here = Path(__file__).parent
    items = [item for item in request.session.items if Path(str(item.path)).parent == here]
    if {Path(str(item.path)).name for item in items} != {p.name for p in here.glob("test_*.py")}:
        pytest.skip("route coverage is judged on a collection of the whole conformance package")
    declared = set().union(*(covered(item) for item in items))
    listed = {(t, m, p) for t in TYPENAMES for m, p in help_routes(dvid, t)}
    missing = sorted(listed - declared)
    assert not missing, f"routes /api/help lists without a conformance case: {missing}"
    stale = sorted(declared - listed)
    assert not stale, f"conformance cases cover routes /api/help does not list: {stale}"
