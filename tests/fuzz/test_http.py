"""Hypothesis over HTTP requests to the real app: any operation of ``/api/openapi.json``,
its path parameters real, pattern-shaped or hostile, its declared query parameters with
any values, and any body; the answer is never a 5xx.

The operations come from the OpenAPI document, so a new route is fuzzed as soon as it is
declared. Numbers in JSON bodies stay within ±2**20 here: huge coordinates have their own
tests (``tests/server/test_hostile_input.py``), and a fuzzer that grows the extents to
the int32 edge only makes each later pyramid build slow, not wrong.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub
from voxhub.server import create_app

LIMIT = 1 << 16


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    params: dict[str, dict[str, Any]]  # path parameter -> schema
    query: dict[str, dict[str, Any]]  # query parameter -> schema
    body: tuple[str, ...]  # request media types


@dataclass
class Served:
    client: TestClient
    operations: list[Operation]
    real: dict[str, list[str]]  # path parameter -> values that name something stored


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    hub = EmbeddedHub.open("memory://")
    repo = hub.create_repo("demo", "fuzzed")
    root = repo.master
    root.create_volume("gray", "uint8", block_shape=(8, 8, 8), max_scale=1)[0:8, 0:8, 0:16] = 7
    seg = root.create_labels("seg", block_shape=(8, 8, 8))
    seg[0:8, 0:8, 0:16] = np.repeat(np.array([5, 6], np.uint64), 8 * 8 * 8).reshape(8, 8, 16)
    with TestClient(create_app(hub, max_request_bytes=LIMIT)) as client:
        doc = client.get("/api/openapi.json").json()
        operations = []
        for path, item in doc["paths"].items():
            params = {p["name"]: p["schema"] for p in item.get("parameters", [])}
            for method, op in item.items():
                if method == "parameters":
                    continue
                query = {p["name"]: p["schema"] for p in op["parameters"] if p["in"] == "query"}
                body = tuple(op.get("requestBody", {}).get("content", {}))
                operations.append(Operation(method.upper(), path, params, query, body))
        names = ["gray", "seg"]
        real = {
            "uuid": [root.uuid, root.uuid[:6], f"{root.uuid}:master", ":master"],
            "ref": [root.uuid, "demo"],
            "other": [root.uuid],
            "name": names,
            "instance": names,
            "channel": names,
            "token": ["demo", "demo:master"],
            "coll": ["demo"],
            "exp": ["master"],
            "label": ["5", "6"],
            "typename": ["uint8blk", "labelmap"],
            "dims": ["0_1_2", "xy", "xz"],
            "size": ["8_8_8", "16_8_8", "8_8"],
            "offset": ["0_0_0", "8_0_0"],
            "point": ["1_1_1", "9_1_1"],
            "nblocks": ["1", "2"],
            "count": ["3"],
            "fmt": ["png", "jpg:80", "tiff", "npz", "blosc", "hdf5", "raw", "xy"],
            "res": ["0", "1"],
            "x": ["0,8", "3"],
            "y": ["0,8", "3"],
            "z": ["0,8", "3"],
            "top_left": ["0_0_0"],
            "top_right": ["8_0_0"],
            "bottom_left": ["0_8_0"],
        }
        yield Served(client, operations, real)
    hub.close()


HOSTILE_TEXT = st.one_of(
    st.sampled_from(["²", "٣", "9" * 5000, "-1", "1e9", "nan", "..", "%00", "é", "0", " "]),
    st.text(min_size=1, max_size=30),
    st.integers().map(str),
)
JSON_NUMBERS = st.integers(-(2**20), 2**20)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | JSON_NUMBERS | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(st.tuples(st.text(max_size=8), inner), max_size=4).map(dict)
    ),
    max_leaves=15,
)


ASCII = st.characters(codec="ascii")  # hostile non-ASCII text comes from HOSTILE_TEXT


def _from_schema(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    if "enum" in schema:
        return st.sampled_from([str(v) for v in schema["enum"]])
    if "pattern" in schema:
        # not st.from_regex: it generated inconsistently between runs of one example
        # (FlakyStrategyDefinition, most reliably under the derandomized ci profile);
        # pattern-shaped values come from the stored names above and from schemathesis
        # (tests/fuzz/test_schemathesis.py), which generates from the same patterns
        return st.text(alphabet=ASCII, max_size=24)
    if schema.get("type") == "integer":
        return st.integers(-(2**40), 2**40).map(str)
    return st.text(max_size=12)


def _sometimes_hostile(draw: st.DrawFn, usual: st.SearchStrategy[str]) -> str:
    # one value in five is hostile: a request with every part hostile never gets past
    # the first parser, so the usual values are what lets the fuzzer reach the others
    return draw(HOSTILE_TEXT if draw(st.integers(0, 4)) == 0 else usual)


def _body(draw: st.DrawFn, op: Operation) -> bytes:
    if "application/json" in op.body and draw(st.booleans()):
        labels = st.one_of(st.sampled_from([0, 5, 6, 7]), JSON_NUMBERS)
        shaped = st.one_of(
            st.lists(labels, max_size=6),
            st.lists(st.lists(st.integers(-2, 20), min_size=3, max_size=3), max_size=4),
            st.fixed_dictionaries(
                {},
                optional={
                    k: st.one_of(st.sampled_from(["x", "side", "gray", "note"]), JSON_VALUES)
                    for k in ("alias", "branch", "tag", "name", "typename", "note", "log")
                },
            ),
        )
        return json.dumps(draw(shaped)).encode()
    return draw(
        st.one_of(
            st.sampled_from([512, 4096, 1024]).map(lambda n: bytes([5]) * n),
            JSON_VALUES.map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=300),
            st.integers(30, 3000).map(lambda n: b"[" * n + b"]" * n),
        )
    )


@st.composite
def requests(draw: st.DrawFn, served: Served) -> tuple[str, str, bytes | None]:
    op = draw(st.sampled_from(served.operations))
    path = op.path
    for name, schema in op.params.items():
        real = served.real.get(name)
        usual = st.sampled_from(real) if real and draw(st.integers(0, 3)) else _from_schema(schema)
        value = _sometimes_hostile(draw, usual)
        path = path.replace("{" + name + "}", quote(value, safe=",:~_"))
    names = draw(st.permutations(sorted(op.query)))
    chosen = names[: draw(st.integers(0, min(3, len(names))))]
    query = {n: _sometimes_hostile(draw, _from_schema(op.query[n])) for n in chosen}
    if query:
        path += "?" + "&".join(f"{n}={quote(v)}" for n, v in query.items())
    body = _body(draw, op) if op.body or draw(st.integers(0, 4)) == 0 else None
    return op.method, path, body


# derandomized in every profile: the requests change the served store, so a random run
# could not replay an example faithfully and Hypothesis reported inconsistent generation
# (FlakyStrategyDefinition) instead of a result; a fixed sequence is the same every run
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_request_to_any_declared_operation_gets_a_5xx(served: Served, data: Any) -> None:
    method, path, body = data.draw(requests(served))
    response = served.client.request(method, path, content=body)
    assert response.status_code < 500, (method, path, response.status_code, response.text[:300])
    # a HEAD answer has no body to hold the error (405s come from the router, bare)
    if response.status_code >= 400 and response.status_code != 405 and method != "HEAD":
        assert response.json()["error"], response.text


def test_every_operation_is_reachable_by_the_fuzzer(served: Served) -> None:
    """The strategy draws from every operation: a path template the fuzzer could not fill
    would silently never be exercised."""
    assert len(served.operations) > 80
    for op in served.operations:
        filled = re.sub(r"{[a-z_]+}", "1", op.path)
        assert "{" not in filled, op.path
