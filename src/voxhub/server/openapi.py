"""``/api/openapi.json``: an OpenAPI 3.1 document built from the live route table.

Every route is an :class:`~voxhub.datatypes.wire.api.ApiRoute` carrying its
:class:`~voxhub.datatypes.wire.api.Api` (query parameters, request media types and JSON
body schema, answer media types), declared where the route is declared; path parameters
take their schema from :data:`~voxhub.datatypes.wire.api.PATH_PARAMS` by name. Nothing
here lists routes by hand, so the document follows the routes. Instance routes are
expanded per datatype family under ``/api/node/{uuid}/{name}``. Each operation's summary
and description are the handler's docstring.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from voxhub.datatypes.registry import datatype_for, typenames
from voxhub.datatypes.wire.api import CALLER, PATH_PARAMS, Api, ApiRoute, Param
from voxhub.errors import CapabilityError
from voxhub.server.dispatch import INSTANCE_PREFIX, InstanceDispatcher, datatype_routes
from voxhub.server.routes_server import voxhub_version

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?}")
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "type": {"type": "string"}},
    "required": ["error", "type"],
}
#: statuses any route may answer, from ``server.errors``' table and the middleware
_STATUSES = {
    "400": "malformed request: the message names the field",
    "401": "a token is needed",
    "403": "the token does not allow this, or the store is read-only",
    "404": "unknown repo, node, instance or label",
    "405": "method not allowed",
    "409": "committed node or conflict",
    "413": "over the size limit (the message names it)",
    "501": "not supported by this datatype or backend",
    "503": "storage unavailable or server busy",
}
_BINARY = {"type": "string", "format": "binary"}


def _media(media_type: str, schema: Any) -> dict[str, Any]:
    if schema is None:
        schema = {} if media_type.endswith("json") else _BINARY
    return {media_type: {"schema": dict(schema)}}


def _parameter(param: Param, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": where,
        "required": where == "path" or param.required,
        "schema": dict(param.schema),
    }
    if param.description:
        out["description"] = param.description
    return out


def _path_parameter(name: str) -> dict[str, Any]:
    # an undeclared name is left untyped here; tests/server/test_openapi.py refuses it
    schema = PATH_PARAMS.get(name, {"type": "string"})
    return _parameter(Param(name, schema, str(schema.get("description", ""))), "path")


def _operation(route: Route, api: Api, method: str, path: str, tag: str) -> dict[str, Any]:
    doc = inspect.getdoc(route.endpoint) or ""
    success: dict[str, Any] = {"description": "success"}
    content: dict[str, Any] = {}
    for media_type in api.answers:
        content |= _media(media_type, None)
    if content:
        success["content"] = content
    op: dict[str, Any] = {
        "summary": doc.splitlines()[0] if doc else route.name,
        "description": doc,
        "tags": [tag],
        "operationId": method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", path).rstrip("_"),
        "parameters": [_parameter(p, "query") for p in (*api.query, *CALLER)],
        "responses": {str(api.status): success}
        | {
            code: {"description": text, "content": _media("application/json", _ERROR_SCHEMA)}
            for code, text in _STATUSES.items()
        },
    }
    if api.body:
        body: dict[str, Any] = {}
        for media_type in api.body:
            schema = api.body_schema if media_type.endswith("json") else None
            body |= _media(media_type, schema)
        op["requestBody"] = {"required": api.body_required, "content": body}
    return op


def _add(paths: dict[str, Any], path: str, route: Route, tag: str) -> None:
    openapi_path = _PARAM.sub(r"{\1}", path)
    item = paths.setdefault(openapi_path, {})
    params = _PARAM.findall(path)
    if params:
        item["parameters"] = [_path_parameter(p) for p in params]
    api = route.api if isinstance(route, ApiRoute) else Api()
    for method in sorted((route.methods or {"GET"}) - {"HEAD"}) or ["HEAD"]:
        op = _operation(route, api, method, openapi_path, tag)
        known = item.get(method.lower())
        item[method.lower()] = op if known is None else _merged(known, op)


def _merged(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """One operation for two datatype families sharing a path (image and labelmap
    ``raw``...): the instance decides which applies, so the description allows both."""
    out = dict(first, tags=[*first["tags"], *second["tags"]])
    names = {p["name"] for p in first["parameters"]}
    out["parameters"] = first["parameters"] + [
        p for p in second["parameters"] if p["name"] not in names
    ]
    out["description"] = f"{first['description']}\n\n{second['description']}".strip()
    responses = dict(first["responses"])
    for code, answer in second["responses"].items():
        content = {**responses.get(code, {}).get("content", {}), **answer.get("content", {})}
        responses[code] = {**answer, **({"content": content} if content else {})}
    out["responses"] = responses
    if "requestBody" in second:
        body = first.get("requestBody", {"required": False, "content": {}})
        out["requestBody"] = {
            "required": body["required"] and second["requestBody"]["required"],
            "content": {**body["content"], **second["requestBody"]["content"]},
        }
    return out


def _instance_families() -> dict[str, list[BaseRoute]]:
    families: dict[str, list[BaseRoute]] = {}
    for typename in typenames():
        datatype = datatype_for(typename)
        if datatype.name not in families:
            try:
                families[datatype.name] = datatype_routes(datatype)
            except CapabilityError:
                families[datatype.name] = []
    return families


def openapi_document(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` (the app's route table)."""
    paths: dict[str, Any] = {}
    for route in routes:
        if not isinstance(route, Route) or isinstance(route.endpoint, InstanceDispatcher):
            continue
        tag = route.path.split("/")[2] if route.path.startswith("/api/") else "home"
        if route.path.count("/") > 1 and not route.path.startswith("/api/"):
            tag = "ndstore"
        _add(paths, route.path, route, tag)
    for family, type_routes in sorted(_instance_families().items()):
        for route in type_routes:
            if isinstance(route, Route):
                _add(paths, INSTANCE_PREFIX + route.path, route, family)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "voxhub",
            "version": voxhub_version(),
            "description": "DVID-compatible versioned image service; see /api/help",
        },
        "paths": paths,
    }


async def openapi_json(request: Request) -> Response:
    """This document."""
    return JSONResponse(openapi_document(list(request.app.routes)))


def openapi_routes() -> list[BaseRoute]:
    """The OpenAPI route."""
    return [ApiRoute("/api/openapi.json", openapi_json, methods=["GET"])]
