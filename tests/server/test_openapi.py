"""``/api/openapi.json`` describes every route of the real app, typed: path parameter
patterns, query parameters, request media types and JSON body schemas, answers."""

from __future__ import annotations

import re

import schemathesis
from starlette.routing import Route

from voxhub.datatypes.registry import datatype_for, typenames
from voxhub.datatypes.wire.api import PATH_PARAMS, ApiRoute
from voxhub.server.dispatch import INSTANCE_PREFIX, InstanceDispatcher, datatype_routes

from .conftest import Env

_PARAM = re.compile(r"{([a-zA-Z_]+)(?::[a-z]+)?}")


def _declared_routes(env: Env) -> list[tuple[str, Route]]:
    """Every route a request can reach: the app's own and each datatype's instance routes."""
    out = []
    for route in env.client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and not isinstance(route.endpoint, InstanceDispatcher):
            out.append((route.path, route))
    for typename in typenames():
        for route in datatype_routes(datatype_for(typename)):
            assert isinstance(route, Route)
            out.append((INSTANCE_PREFIX + route.path, route))
    return out


def test_every_route_is_declared_with_its_api_and_appears_with_its_parameters(env: Env) -> None:
    doc = env.client.get("/api/openapi.json").json()
    routes = _declared_routes(env)
    assert len(routes) > 80
    for path, route in routes:
        assert isinstance(route, ApiRoute), f"{path} is a plain Route: declare its Api"
        item = doc["paths"][_PARAM.sub(r"{\1}", path)]
        names = _PARAM.findall(path)
        declared = {p["name"]: p for p in item.get("parameters", [])}
        assert set(declared) == set(names), path
        for name in names:
            assert name in PATH_PARAMS, f"path parameter {name!r} of {path} has no schema"
            schema = declared[name]["schema"]
            assert declared[name]["required"]
            assert "pattern" in schema or "enum" in schema
        for method in (route.methods or set()) - {"HEAD"}:
            op = item[method.lower()]
            query = {p["name"] for p in op["parameters"] if p["in"] == "query"}
            assert {p.name for p in route.api.query} <= query, (method, path)
            assert {"u", "app"} <= query  # DVID's caller, on every route
            assert ("requestBody" in op) == bool(route.api.body) or len(op["tags"]) > 1
            assert "400" in op["responses"]


def test_bodies_and_queries_are_typed_where_routes_declare_them(env: Env) -> None:
    paths = env.client.get("/api/openapi.json").json()["paths"]
    raw = paths["/api/node/{uuid}/{name}/raw/{dims}/{size}/{offset}"]
    assert "application/octet-stream" in raw["post"]["requestBody"]["content"]
    query = {p["name"]: p["schema"] for p in raw["post"]["parameters"]}
    assert {"lz4", "gzip", "zstd"} <= set(query["compression"]["enum"])
    merge = paths["/api/node/{uuid}/{name}/merge"]["post"]["requestBody"]
    items = merge["content"]["application/json"]["schema"]["items"]
    assert items["maximum"] == 2**64 - 1
    branch = paths["/api/node/{uuid}/branch"]["post"]["requestBody"]["content"]
    assert "branch" in branch["application/json"]["schema"]["properties"]
    cutout = paths["/ca/{token}/{channel}/{fmt}/{res}/{x}/{y}/{z}"]
    assert "product/npz" in cutout["post"]["requestBody"]["content"]
    assert "requestBody" not in cutout["get"]
    label = next(p for p in paths["/api/node/{uuid}/{name}/size/{label}"]["parameters"])
    assert re.fullmatch(label["schema"]["pattern"], "18446744073709551615")
    assert not re.fullmatch(label["schema"]["pattern"], "²")


def test_the_document_is_one_schemathesis_loads(env: Env) -> None:
    doc = env.client.get("/api/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    operations = [op for op in schema.get_all_operations() if op.ok()]
    expected = sum(1 for item in doc["paths"].values() for key in item if key != "parameters")
    assert len(operations) == expected
