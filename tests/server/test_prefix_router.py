"""``PrefixRouter`` picks the route Starlette's ``Router`` picks, for any path: the app's
own route templates filled with literal segments, made-up words, empty segments, a
trailing newline or slash, extra segments, in any method."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, Router
from tests.server.asgi_call import acall

from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.prefix_router import PrefixRouter, shape_of


def _echo(template: str) -> Route:
    async def endpoint(request: Request) -> Response:
        params = sorted(request.path_params.items())
        return PlainTextResponse(f"{template} {params}")

    return Route(template, endpoint)


@pytest.fixture(scope="module")
def templates() -> list[tuple[str, set[str]]]:
    hub = EmbeddedHub.open("memory://")
    try:
        app = create_app(hub)
        return [(r.path, set(r.methods or {"GET"})) for r in app.routes if isinstance(r, Route)]
    finally:
        hub.close()


def _routers(templates: list[tuple[str, set[str]]]) -> tuple[Router, Router]:
    routes: list[BaseRoute] = []
    for path, methods in templates:
        route = _echo(path)
        route.methods = methods
        routes.append(route)
    routes.append(_echo("/files/{rest:path}"))  # a path convertor: any number of segments
    return PrefixRouter(routes), Router(routes)


WORDS = st.sampled_from(["", "x", "info", "sharded", "supervoxels", "0", "a.b", "\n", "1_1_1"])


@st.composite
def paths(draw: st.DrawFn, templates: list[tuple[str, set[str]]]) -> str:
    template = draw(st.sampled_from([t for t, _ in templates] + ["/files/{rest:path}"]))
    segments = template.split("/")[1:]
    out = [s if "{" not in s or draw(st.booleans()) is False else draw(WORDS) for s in segments]
    out = ["p" if "{" in s else s for s in out]
    if draw(st.booleans()):
        out.insert(draw(st.integers(0, len(out))), draw(WORDS))
    if out and draw(st.booleans()):
        out.pop(draw(st.integers(0, len(out) - 1)))
    return "/" + "/".join(out) + draw(st.sampled_from(["", "/", "\n"]))


def test_every_route_has_a_shape(templates: list[tuple[str, set[str]]]) -> None:
    for path, _ in templates:
        shape = shape_of(_echo(path))
        any_depth = ":path}" in path  # the instance dispatcher's {rest:path}
        assert shape.slashes == (None if any_depth else path.count("/")), path


@settings(max_examples=300, deadline=None)
@given(data=st.data(), method=st.sampled_from(["GET", "POST", "DELETE", "HEAD"]))
def test_routes_as_starlette_does(
    templates: list[tuple[str, set[str]]], data: st.DataObject, method: str
) -> None:
    path = data.draw(paths(templates))
    fast, plain = _routers(templates)

    async def both() -> None:
        got, want = await acall(fast, method, path), await acall(plain, method, path)
        seen = [
            (a.status, a.body, a.headers.get("allow"), a.headers.get("location"))
            for a in (got, want)
        ]
        assert seen[0] == seen[1], (method, path)

    anyio.run(both)


def test_a_final_newline_routes_as_starlette_does(templates: list[tuple[str, set[str]]]) -> None:
    """``$`` in a route's expression also matches before a final newline, so Starlette
    takes ``.../sharded/info\\n`` as the sharded view's info, not as a chunk."""
    fast, plain = _routers(templates)

    async def run() -> None:
        for template, _ in templates:
            path = "/".join("p" if "{" in s else s for s in template.split("/")) + "\n"
            got, want = await acall(fast, "GET", path), await acall(plain, "GET", path)
            assert (got.status, got.body) == (want.status, want.body), path

    anyio.run(run)
