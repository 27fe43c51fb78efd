"""Mutations over HTTP leave a line in the node log: ``<time> u=<user> app=<app>: <what>``.

:func:`logged` wraps a route handler so that the first write transaction it commits also
adds the caller's line to the log of the node written (in that same transaction; see
:mod:`voxhub.versioning.node_log`). :func:`~voxhub.datatypes.wire.context.instance_route`
applies it to every instance route whose methods are not all reads, so a new mutation
route is logged without asking; other routes that write (ndstore ``POST``) use
:func:`logging_writes` around their work. A refused request writes nothing and logs
nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from voxhub.versioning import node_log

if TYPE_CHECKING:
    from voxhub.datatypes.wire.context import Caller

#: methods that never change data (a route with only these is not logged)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: set on an endpoint that logs the mutations it makes (read by tests and the route walk)
LOGS_MUTATIONS = "__voxhub_logs_mutations__"


class HasCaller(Protocol):
    @property
    def caller(self) -> Caller: ...


C = TypeVar("C", bound=HasCaller)


def mutation_text(request: Request) -> str:
    """What a request does, in its own words: ``POST seg/merge``, relative to the node
    (the instance's name and the path after it) where the dispatcher resolved one."""
    rest = request.scope.get("voxhub.instance_path")
    if isinstance(rest, str):
        name = request.path_params.get("name") or _instance_name(request.url.path, rest)
        return f"{request.method} {name}{rest}"
    return f"{request.method} {request.url.path}"


def _instance_name(path: str, rest: str) -> str:
    head = path[: len(path) - len(rest)] if rest and path.endswith(rest) else path
    return head.rstrip("/").rsplit("/", 1)[-1]


@contextmanager
def logging_writes(request: Request, caller: Caller) -> Iterator[None]:
    """Log the request (see :func:`mutation_text`) with the first write it commits."""
    line = node_log.stamp(caller.user, caller.app, mutation_text(request))
    with node_log.logging_writes(line):
        yield


def logged(
    handler: Callable[[Request, C], Awaitable[Response]],
) -> Callable[[Request, C], Awaitable[Response]]:
    """``handler`` with its committed writes logged in the node log (see module doc)."""

    @functools.wraps(handler)
    async def run(request: Request, ctx: C) -> Response:
        with logging_writes(request, ctx.caller):
            return await handler(request, ctx)

    setattr(run, LOGS_MUTATIONS, True)
    return run
