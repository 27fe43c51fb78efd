"""What ``voxhub doctor`` finds: problems of one instance, and how a datatype checks it.

Each datatype plugs its checks into the registry (``Datatype.check_values``,
``check_instance``, ``repair_instance``); the service layer
(:mod:`voxhub.service.doctor`) walks repos, nodes and instances and calls them. A
problem is *derived* when ``repair_instance`` can rebuild it from scale 0 (pyramid
levels, extents, label indexes, maxlabel, the label counter); a block that does not
decode is not: nothing holds its voxels but itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: labels of which the index is recounted when not every body is (``--all``)
DEFAULT_SAMPLE = 100


@dataclass(frozen=True)
class Problem:
    """One disagreement found in an instance."""

    #: which check found it: ``decode``, ``pyramid``, ``extents``, ``index``,
    #: ``maxlabel``, ``counter``
    check: str
    #: what is wrong where, e.g. ``"block 1:0,0,0 is not the downsampling of scale 0"``
    message: str
    #: whether ``repair_instance`` rebuilds it
    derived: bool


@dataclass(frozen=True)
class CheckOptions:
    """How thorough a check is."""

    #: recount the label index of every body, not a sample
    all_bodies: bool = False
    #: bodies recounted otherwise (spread evenly over the ids)
    sample: int = DEFAULT_SAMPLE


#: why one stored value of an instance is unreadable (``None``: it reads), given its
#: type key and bytes; built once per instance from its config
ValueCheck = Callable[[bytes, bytes], str | None]


def spread(items: list[int], count: int) -> list[int]:
    """At most ``count`` of ``items``, evenly spread (first and last included)."""
    if count <= 0 or not items:
        return []
    if len(items) <= count:
        return items
    step = (len(items) - 1) / max(count - 1, 1)
    return sorted({items[round(i * step)] for i in range(count)})
