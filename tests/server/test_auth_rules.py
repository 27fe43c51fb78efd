"""Every route of the app is classified for access control, in one table."""

from __future__ import annotations

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from voxhub.datatypes.registry import datatype_for, typenames
from voxhub.server import create_app
from voxhub.server.auth.guard import Guarded, Unclassified, protect, route_rules
from voxhub.server.auth.rules import INSTANCE_NEEDS, Need, instance_need
from voxhub.server.dispatch import datatype_routes
from voxhub.service import Service
from voxhub.service.auth import AuthConfig, AuthMode, Role
from voxhub.storage import open_store


@pytest.fixture(params=[AuthMode.OFF, AuthMode.TOKENS])
def app_routes(request: pytest.FixtureRequest) -> list[Route]:
    app = create_app(Service(open_store("memory://")), auth=AuthConfig(request.param))
    routes = [r for r in app.routes if isinstance(r, Route)]
    assert len(routes) == len(app.routes), "every route is a plain Route"
    return routes


def test_every_route_and_method_has_a_rule(app_routes: list[Route]) -> None:
    seen = 0
    for route in app_routes:
        rules = route_rules(route)  # raises Unclassified if one is missing
        assert set(rules) == set(route.methods or ()), route.path
        seen += len(rules)
    assert seen > 100


def test_writes_are_never_public(app_routes: list[Route]) -> None:
    open_writes = {"/api/server/login", "/api/server/logout"}  # they only set a cookie
    for route in app_routes:
        for method, rule in route_rules(route).items():
            if method not in ("GET", "HEAD") and route.path not in open_writes:
                assert rule.need not in (Need.PUBLIC, Need.LISTING), (method, route.path)
                if rule.role is not None:
                    assert rule.role >= Role.WRITE, (method, route.path)


def test_routes_are_guarded_only_when_auth_is_on() -> None:
    for mode, guarded in ((AuthMode.OFF, False), (AuthMode.TOKENS, True)):
        app = create_app(Service(open_store("memory://")), auth=AuthConfig(mode))
        route = next(r for r in app.routes if getattr(r, "path", "") == "/api/repos")
        assert isinstance(route, Route)
        assert isinstance(route.app, Guarded) is guarded


def test_every_instance_route_method_is_classified() -> None:
    families = {datatype_for(t).name: datatype_for(t) for t in typenames()}
    for datatype in families.values():
        for route in datatype_routes(datatype):
            assert isinstance(route, Route)
            for method in route.methods or ():
                assert method in INSTANCE_NEEDS, (datatype.name, method, route.path)
                expected = Role.READ if method in ("GET", "HEAD") else Role.WRITE
                assert instance_need(method) is expected


def test_an_unclassified_route_stops_the_app_from_being_built() -> None:
    async def secret(request: object) -> PlainTextResponse:
        return PlainTextResponse("x")

    app = create_app(Service(open_store("memory://")), auth=AuthConfig(AuthMode.TOKENS))
    gate = app.routes[0].app.gate if isinstance(app.routes[0].app, Guarded) else None
    assert gate is not None
    with pytest.raises(Unclassified, match="GET /api/secret has no access rule"):
        protect([Route("/api/secret", secret)], gate)
