"""The DVID routes ``/api/help/{type}`` lists as not served really are not served.

So the difference list cannot go stale: a route that starts being served fails here until
it leaves ``dvid_differences.not_served`` (and then ``test_route_coverage`` asks for its
conformance case).
"""

from __future__ import annotations

import re

import pytest

from voxhub.datatypes.dvid_differences import NotServed
from voxhub.datatypes.registry import datatype_for

from .conftest import Dvid
from .test_route_coverage import help_routes

#: what fills each DVID path parameter in a request for a route that is not served
FILL = {"label": "1", "labels": "1,3", "start": "1", "end": "9", "beg": "1", "dims": "0_1_2"}
FILL |= {"size": "8_8_8", "offset": "0_0_0", "from": "0", "to": "0"}
CASES = [
    (typename, instance, route)
    for typename, instance in (
        ("labelmap", "seg"),
        ("uint8blk", "em"),
        ("roi", "regions"),
        ("keyvalue", "files"),
    )
    for route in datatype_for(typename).dvid_differences.not_served
]


@pytest.mark.parametrize(
    ("typename", "instance", "route"),
    CASES,
    ids=[f"{t}:{r.method} {r.path}" for t, _, r in CASES],
)
def test_a_listed_route_is_not_served(
    dvid: Dvid, typename: str, instance: str, route: NotServed
) -> None:
    assert (route.method, route.path) not in help_routes(dvid, typename)
    assert f"{route.method:<6} {route.path}  " in dvid.ok("GET", f"/api/help/{typename}").text
    path = re.sub(r"\{(\w+)\}", lambda m: FILL[m.group(1)], route.path)
    reply = dvid.session.request(route.method, dvid.url + dvid.at(instance, path[1:]), timeout=30)
    assert reply.status_code in (404, 405), (reply.status_code, reply.text[:200])
    if reply.status_code == 404:
        assert "no endpoint" in reply.json()["error"]
