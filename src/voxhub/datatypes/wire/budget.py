"""What one request may cost, as the routes see it: the server puts a :class:`Budget` in
the ASGI scope (``voxhub.server.limits``), routes consult it before they allocate.

Two questions are asked of it. ``reserve(nbytes, what)``: may this request hold
``nbytes`` (a body, a cutout) now? A large request takes one of the server's few slots
for large requests, or is refused with :class:`~voxhub.errors.Overloaded` (503 and
``Retry-After``) while they are all taken; the per-request limit itself (413) stays with
:func:`voxhub.datatypes.wire.bodies.check_size`. ``max_json_bytes``: how large a JSON
body may be (parsed JSON costs many times its text in Python objects).
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request

#: the ASGI scope key holding the request's :class:`Budget`
BUDGET_KEY = "voxhub.budget"
#: JSON bodies larger than this are refused (413) when no budget says otherwise
DEFAULT_MAX_JSON_BYTES = 64 << 20


class Budget(Protocol):
    """One request's share of the server's memory."""

    @property
    def max_json_bytes(self) -> int: ...

    def reserve(self, nbytes: int, what: str) -> None:
        """Admit holding ``nbytes`` for ``what``, or raise ``Overloaded``."""
        ...


def budget_of(request: Request) -> Budget | None:
    """The budget the server gave ``request`` (``None`` outside a voxhub server)."""
    budget: Budget | None = request.scope.get(BUDGET_KEY)
    return budget


def admit(request: Request, nbytes: int, what: str) -> None:
    """Reserve ``nbytes`` for ``what`` in the request's budget before allocating them."""
    budget = budget_of(request)
    if budget is not None:
        budget.reserve(nbytes, what)


def max_json_bytes(request: Request) -> int:
    """The largest JSON body ``request`` may send."""
    budget = budget_of(request)
    return DEFAULT_MAX_JSON_BYTES if budget is None else budget.max_json_bytes
