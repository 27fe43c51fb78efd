"""Every route wrapped with the check its :mod:`rule <voxhub.server.auth.rules>` asks for.

:func:`protect` runs once when the app is built. It refuses a route the rules table does
not classify (so a route cannot be added and forgotten), and, when authentication is on,
replaces each route's ASGI app by a :class:`Guarded` one that resolves the repo or node
the path names and raises ``Unauthorized`` (401) or ``Forbidden`` (403) before the
handler runs. The instance routes are checked by the dispatcher, which resolves their
node anyway (:func:`voxhub.server.auth.rules.instance_need`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from voxhub.server.auth.gate import Gate
from voxhub.server.auth.rules import Need, Rule, Target, rule_for
from voxhub.server.http import node_ref
from voxhub.server.ndstore import resolve_token
from voxhub.service.auth import Principal


class Unclassified(RuntimeError):
    """A route has no access rule (a programming error: add it to ``ROUTE_RULES``)."""


def route_rules(route: BaseRoute) -> dict[str, Rule]:
    """The rule of each method of ``route``; :class:`Unclassified` if one is missing."""
    if not isinstance(route, Route):
        raise Unclassified(f"{route!r} is not a plain Route: the auth rules cannot cover it")
    rules = {}
    for method in sorted(route.methods or {"GET"}):
        rule = rule_for(route.path, method)
        if rule is None:
            raise Unclassified(
                f"route {method} {route.path} has no access rule: classify it in "
                "voxhub.server.auth.rules.ROUTE_RULES"
            )
        rules[method] = rule
    return rules


def check(gate: Gate, rule: Rule, principal: Principal, params: Mapping[str, Any]) -> None:
    """Raise unless ``principal`` may make a request under ``rule`` (blocking: resolves
    the node or repo the path parameters name, 404 if there is none)."""
    policy, catalog = gate.policy, gate.service.catalog
    if rule.need is Need.SERVER_ADMIN:
        policy.check_server_admin(principal, "creating a repo")
        return
    if rule.need is not Need.ROLE or rule.role is None:
        return
    if rule.target is Target.REPO:
        repo = catalog.repo(node_ref(str(params[rule.params[0]])))
        policy.check_repo(principal, rule.role, repo, public_view=rule.public_view)
        return
    if rule.target is Target.NDSTORE:
        uuids = [resolve_token(catalog, str(params[rule.params[0]]))]
    elif rule.target is Target.BOSSDB:
        coll, exp = (str(params[p]) for p in rule.params)
        uuids = [resolve_token(catalog, f"{coll}:{exp}")]
    else:
        uuids = [node_ref(str(params[p])) for p in rule.params]
    for uuid in uuids:
        policy.check_node(principal, rule.role, catalog.node(uuid))


class Guarded:
    """A route's ASGI app behind the check of its rule for the request's method."""

    def __init__(self, app: ASGIApp, rules: dict[str, Rule], gate: Gate) -> None:
        self.app = app
        self.rules = rules
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self.rules.get(scope.get("method", "GET"))
        if rule is not None and rule.need in (Need.ROLE, Need.SERVER_ADMIN):
            principal = self.gate.principal_of(scope)
            await self.gate.run(check, self.gate, rule, principal, scope.get("path_params", {}))
        await self.app(scope, receive, send)


def protect(routes: Sequence[BaseRoute], gate: Gate) -> list[BaseRoute]:
    """``routes``, each classified and (with authentication on) guarded; see module doc."""
    for route in routes:
        rules = route_rules(route)
        if gate.enabled and isinstance(route, Route):
            route.app = Guarded(route.app, rules, gate)
    return list(routes)
