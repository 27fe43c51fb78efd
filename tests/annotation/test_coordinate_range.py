"""Element coordinates beyond what the key layout holds (``[-524288, 524287]`` per axis;
DVID takes int32) are refused with a 400 naming the coordinate on every way in, nothing
of the request stored; queries over boxes beyond the range answer what lies inside it."""

from __future__ import annotations

from typing import Any

import pytest

from voxhub.datatypes.annotation.elements import COORD_MAX, COORD_MIN

from .conftest import Env

OUTSIDE = [COORD_MAX + 1, 2**31 - 1, 2**31, COORD_MIN - 1, -(2**31)]


def refused(env: Env, method: str, rest: str, body: Any, named: str) -> None:
    reply = env.client.request(method, env.url(rest), json=body)
    assert reply.status_code == 400, reply.text
    assert named in reply.json()["error"], reply.json()


@pytest.mark.parametrize("far", OUTSIDE)
def test_every_way_in_refuses_a_coordinate_out_of_range(env: Env, far: int) -> None:
    env.post("elements", [{"Pos": [1, 2, 3], "Kind": "PreSyn"}])
    at = f"[{far}, 2, 3]"
    refused(env, "POST", "elements", [{"Pos": [far, 2, 3], "Kind": "Note"}], at)
    rel = {"Pos": [5, 5, 5], "Kind": "PreSyn", "Rels": [{"Rel": "PreSynTo", "To": [1, far, 3]}]}
    refused(env, "POST", "elements", [rel], f"[1, {far}, 3]")
    refused(env, "POST", f"move/1_2_3/1_2_{far}", None, f"[1, 2, {far}]")
    refused(env, "DELETE", f"element/{far}_2_3", None, at)
    refused(env, "POST", "blocks", {"0,0,0": [{"Pos": [far, 2, 3], "Kind": "Note"}]}, at)
    assert [e["Pos"] for e in env.get("all-elements")["0,0,0"]] == [[1, 2, 3]]


def test_boxes_reaching_beyond_the_range_answer_what_lies_inside(env: Env) -> None:
    env.post("elements", [{"Pos": [COORD_MAX, 0, 0], "Kind": "Note"}])
    size, offset = f"{2**31 - 1}_10_10", f"{-(2**30)}_0_0"
    assert [e["Pos"] for e in env.get(f"elements/{size}/{offset}")] == [[COORD_MAX, 0, 0]]
    assert env.get(f"elements/10_10_10/{2**31 - 20}_0_0") == []
