"""``PrefixRouter``: Starlette's router, skipping routes whose path cannot match.

Starlette tries every route's regular expression in order until one matches: an instance
request went through ≈57 of them (≈90 µs) before reaching the dispatcher, and a view
chunk (``/precomputed/...``) ≈92 prefix tests and 17 expressions. A route's expression is
its path with each ``{param}`` replaced by a pattern that never matches ``/`` (``str``,
``int``, ``float``, ``uuid``), unless it uses the ``path`` convertor. So a route without
one matches only paths with as many ``/`` as its own, whose segments equal its literal
segments (those without ``{``). The routes are indexed by (number of ``/``, first
segment): a request tests the few routes of its bucket on their literal segments, and
only those left on their expression. Routes of other shapes (a ``path`` convertor, a
``Mount``, a ``Host``) are in every bucket, ruled out by their literal start as before.

The candidates are tried in the same order with the same ``matches``, so the chosen
route, the 405 of a partial (method) match, the slash redirect and the default (404) are
Starlette's. A path with a newline (``$`` in an expression matches before a final one)
is routed by Starlette's own loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette._utils import get_route_path
from starlette.convertors import (
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    StringConvertor,
    UUIDConvertor,
)
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

#: convertors whose pattern never matches ``/`` (Starlette's own, but ``path``)
_ONE_SEGMENT: frozenset[type[Convertor[Any]]] = frozenset(
    {StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor}
)


def literal_start(route: BaseRoute) -> str:
    """The text every path the route matches begins with ("" when not known: always
    tried)."""
    if isinstance(route, (Route, WebSocketRoute)):
        return route.path.split("{", 1)[0]
    if isinstance(route, Mount):
        return (route.path + "/").split("{", 1)[0]
    return ""  # a Host, or a route of another kind: matched on something else


@dataclass(frozen=True, slots=True)
class Shape:
    """What a path needs to be matched by a route: ``slashes`` ``/`` (``None``: any
    number) and these ``literals`` (segment index, text), and to begin with ``start``."""

    route: BaseRoute
    start: str
    slashes: int | None
    literals: tuple[tuple[int, str], ...]

    def first(self) -> str | None:
        """The literal first segment, if the route has one."""
        for index, text in self.literals:
            if index == 1:
                return text
        return None

    def may_match(self, slashes: int, first: str | None) -> bool:
        """Whether a path of ``slashes`` ``/`` whose first segment is ``first`` (``None``:
        none of the literal first segments) may match."""
        if self.slashes is None:
            return True
        return self.slashes == slashes and self.first() in (None, first)


def shape_of(route: BaseRoute) -> Shape:
    """The :class:`Shape` of ``route``."""
    start = literal_start(route)
    if not isinstance(route, (Route, WebSocketRoute)):
        return Shape(route, start, None, ())
    if not all(type(c) in _ONE_SEGMENT for c in route.param_convertors.values()):
        return Shape(route, start, None, ())
    segments = route.path.split("/")
    literals = tuple((i, s) for i, s in enumerate(segments) if i and "{" not in s)
    return Shape(route, start, len(segments) - 1, literals)


class _Index:
    """The routes' shapes bucketed by (number of ``/``, first segment), in route order."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.size = len(routes)
        shapes = [shape_of(r) for r in routes]
        self.anywhere = [s for s in shapes if s.slashes is None]
        keys = {(s.slashes, s.first()) for s in shapes if s.slashes is not None}
        self.buckets = {
            (n, first): [s for s in shapes if s.may_match(n, first)] for n, first in keys
        }
        for n in {n for n, _ in keys}:  # a first segment no route names literally
            self.buckets[(n, None)] = [s for s in shapes if s.may_match(n, None)]

    def candidates(self, path: str) -> tuple[list[Shape], list[str]]:
        """The shapes that may match ``path``, and its segments."""
        segments = path.split("/")
        n = len(segments) - 1
        first = segments[1] if n else ""
        found = self.buckets.get((n, first))
        if found is None:
            found = self.buckets.get((n, None), self.anywhere)
        return found, segments


class PrefixRouter(Router):
    """A :class:`~starlette.routing.Router` that first rules routes out by their shape
    (see the module docstring)."""

    _shapes: _Index

    def _index(self) -> _Index:
        index = getattr(self, "_shapes", None)
        if index is None or index.size != len(self.routes):  # routes added since
            index = self._shapes = _Index(list(self.routes))
        return index

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        path = get_route_path(scope)
        if "\n" in path:
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        shapes, segments = self._index().candidates(path)
        partial: tuple[BaseRoute, Scope] | None = None
        for shape in shapes:
            if shape.slashes is None:
                if not path.startswith(shape.start):
                    continue
            elif any(segments[i] != text for i, text in shape.literals):
                continue
            route = shape.route
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:  # e.g. the path matches but not the method: 405
            scope["route"] = partial[0]
            scope.update(partial[1])
            await partial[0].handle(scope, receive, send)
            return
        # No route matches: Starlette's own loop finds none either, then redirects a
        # path that matches with(out) its trailing slash, or answers with the default.
        await super().app(scope, receive, send)
