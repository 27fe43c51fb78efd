"""How a datatype's HTTP face differs from DVID's, as ``/api/help/{type}`` lists it.

Each datatype declares its own list (``Datatype.dvid_differences``): the behaviours that
differ on routes both serve, and the DVID routes it does not serve at all. The
conformance tests (``tests/conformance``) request every route in ``not_served`` and
expect voxhub's "no endpoint" answer, so a route that starts being served must leave
this list, and every served route must have a conformance case.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NotServed:
    """A DVID route this datatype does not serve: ``method path`` (DVID's ``<x>`` as
    ``{x}``, relative to the instance) and why it is left out."""

    method: str
    path: str
    why: str


@dataclass(frozen=True)
class DvidDifferences:
    """What one datatype does differently from DVID (each deliberate)."""

    #: behaviours that differ on routes both serve
    notes: tuple[str, ...] = ()
    #: DVID routes not served here (answered 404 "no endpoint", or 405)
    not_served: tuple[NotServed, ...] = ()

    def help_lines(self, typename: str) -> list[str]:
        """The text of ``/api/help/{typename}``'s type-specific difference list."""
        lines = [f"Differences from DVID ({typename}):", *(f"  - {n}" for n in self.notes)]
        if self.not_served:
            lines += ["", "DVID routes not served (404 'no endpoint' or 405):"]
            lines += [f"  {r.method:<6} {r.path}  {r.why}" for r in self.not_served]
        return lines


#: a datatype that declares no differences
NO_DIFFERENCES = DvidDifferences()
