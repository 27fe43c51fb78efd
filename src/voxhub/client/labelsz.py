"""``LabelSizes``: a labelsz instance at one node in the numpy API (embedded or remote).

>>> import voxhub
>>> hub = voxhub.open("memory://")
>>> node = hub.create_repo("demo").master
>>> sizes = node.create_labelsz("sizes")   # normally annotations="synapses"
>>> sizes.top(10, "PreSyn"), sizes.count(7, "PostSyn")
([], 0)

Rankings are lists of ``Ranked(label, size)`` named tuples (``size``: the count, DVID's
name), so ``pandas.DataFrame(sizes.top(100, "PreSyn"))`` has the columns ``label`` and
``size``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from voxhub.client.node import Node

#: DVID's page of ``threshold``
THRESHOLD_PAGE = 10_000


class Ranked(NamedTuple):
    """One body of a ranking and its count."""

    label: int
    #: DVID's name for the count in rankings
    size: int


class LabelszAccess(Protocol):
    """A labelsz instance at one node, embedded or over HTTP."""

    def count(self, label: int, kind: str) -> int: ...

    def counts(self, labels: list[int], kind: str) -> list[int]: ...

    def top(self, n: int, kind: str) -> list[tuple[int, int]]: ...

    def threshold(
        self, least: int, kind: str, *, offset: int = 0, n: int = THRESHOLD_PAGE
    ) -> list[tuple[int, int]]: ...

    def reload(self) -> None: ...


class LabelSizes:
    """Bodies ranked by their number of annotation elements of a kind (``PostSyn``,
    ``PreSyn``, ``Gap``, ``Note`` or ``AllSyn``), exact at this node."""

    def __init__(self, node: Node, name: str, access: LabelszAccess) -> None:
        self.node = node
        self.name = name
        self._access = access

    def __repr__(self) -> str:
        return f"LabelSizes({self.name!r} at {self.node.uuid[:8]})"

    def count(self, label: int, kind: str) -> int:
        """How many elements of ``kind`` body ``label`` has (0 if none)."""
        return self._access.count(label, kind)

    def counts(self, labels: Iterable[int], kind: str) -> dict[int, int]:
        """``{label: count}`` of ``labels``."""
        wanted = list(labels)
        return dict(zip(wanted, self._access.counts(wanted, kind), strict=True))

    def top(self, n: int, kind: str) -> list[Ranked]:
        """The ``n`` bodies with the most elements of ``kind``, by count descending, then
        label ascending."""
        return [Ranked(*pair) for pair in self._access.top(n, kind)]

    def threshold(
        self, least: int, kind: str, *, offset: int = 0, n: int = THRESHOLD_PAGE
    ) -> list[Ranked]:
        """The bodies with at least ``least`` elements of ``kind``, ranked as :meth:`top`,
        from rank ``offset`` on, at most ``n``."""
        return [Ranked(*p) for p in self._access.threshold(least, kind, offset=offset, n=n)]

    def reload(self) -> None:
        """Recount every body from the annotation (counts are kept exact anyway)."""
        self.node.hub.check_writable(f"reload of {self.name!r}")
        self._access.reload()
