"""``/api/openapi.json``: an OpenAPI 3.1 document built from the live route table.

Instance routes are expanded per datatype under ``/api/node/{uuid}/{name}``. Each
operation's summary and description are the handler's docstring.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from voxhub.datatypes.registry import datatype_for, typenames
from voxhub.errors import CapabilityError
from voxhub.server.dispatch import INSTANCE_PREFIX, InstanceDispatcher, datatype_routes
from voxhub.server.routes_server import voxhub_version

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?}")
_ERROR = {
    "description": "error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "type": {"type": "string"}},
            }
        }
    },
}
_STATUSES = {
    "400": "bad request",
    "404": "unknown repo, node or instance",
    "409": "committed node or conflict",
    "413": "over the size limit",
}


def _operation(route: Route, method: str, tag: str) -> dict[str, Any]:
    doc = inspect.getdoc(route.endpoint) or ""
    op: dict[str, Any] = {
        "summary": doc.splitlines()[0] if doc else route.name,
        "description": doc,
        "tags": [tag],
        "operationId": f"{method.lower()}_{tag}_{route.name}",
        "responses": {"200": {"description": "success"}}
        | {code: {**_ERROR, "description": text} for code, text in _STATUSES.items()},
    }
    return op


def _add(paths: dict[str, Any], path: str, route: Route, tag: str) -> None:
    openapi_path = _PARAM.sub(r"{\1}", path)
    item = paths.setdefault(openapi_path, {})
    params = _PARAM.findall(path)
    if params:
        item["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ]
    for method in sorted((route.methods or {"GET"}) - {"HEAD"}) or ["HEAD"]:
        item[method.lower()] = _operation(route, method, tag)


def openapi_document(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` (the app's route table)."""
    paths: dict[str, Any] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        if isinstance(route.endpoint, InstanceDispatcher):
            continue
        tag = route.path.split("/")[2] if route.path.startswith("/api/") else "home"
        _add(paths, route.path, route, tag)
    families: dict[str, list[BaseRoute]] = {}
    for typename in typenames():
        datatype = datatype_for(typename)
        if datatype.name not in families:
            try:
                families[datatype.name] = datatype_routes(datatype)
            except CapabilityError:
                families[datatype.name] = []
    for family, type_routes in sorted(families.items()):
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
    return [Route("/api/openapi.json", openapi_json, methods=["GET"])]
