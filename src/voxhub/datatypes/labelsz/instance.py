"""A labelsz instance at one node: counts of one body, of several, and rankings.

What the routes and the embedded numpy API call (the remote client has the same methods
over HTTP). Counts come from the count keys, rankings from the first keys of one range
of rank keys (:mod:`.keys`): ``top(100)`` reads 100 keys, whatever the number of bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import islice

import numpy as np

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.labelsz.keys import (
    count_key,
    decode_count,
    kind_code,
    parse_rank,
    rank_range,
)
from voxhub.datatypes.labelsz.recount import build_synced
from voxhub.errors import CapabilityError, InvalidRequest
from voxhub.versioning.protocols import VersionedReader
from voxhub.versioning.records import InstanceInfo

#: DVID's page of ``threshold`` when ``n`` is not given
THRESHOLD_PAGE = 10_000
_UINT64 = 2**64


def check_body(label: object, what: str = "label") -> int:
    """A label as an int (numpy integers accepted); 400 for anything else."""
    if isinstance(label, bool) or not isinstance(label, int | np.integer):
        raise InvalidRequest(f"{what} must be an unsigned 64-bit integer, got {label!r}")
    value = int(label)
    if not 0 <= value < _UINT64:
        raise InvalidRequest(f"{what} must be an unsigned 64-bit integer, got {label!r}")
    return value


def check_count(value: object, what: str) -> int:
    """A non-negative integer (a rank, a page size, a threshold)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InvalidRequest(f"{what} must be a non-negative integer, got {value!r}")
    return int(value)


class LabelszInstance:
    """Per-body element counts of one labelsz instance at one node."""

    def __init__(
        self, reader: VersionedReader, name: str, rebuild: Callable[[], None] | None = None
    ) -> None:
        self.reader = reader
        self.name = name
        self._rebuild = rebuild

    def reload(self) -> None:
        """Recount every body from the synced annotation (DVID's ``POST reload``)."""
        if self._rebuild is None:
            raise CapabilityError(f"labelsz {self.name!r} was opened read-only")
        self._rebuild()

    def count(self, label: int, kind: str) -> int:
        """How many elements of ``kind`` body ``label`` has (0 if none)."""
        return self.counts([label], kind)[0]

    def counts(self, labels: Sequence[int], kind: str) -> list[int]:
        """The count of each of ``labels``, in order."""
        code = kind_code(kind)
        bodies = [check_body(label) for label in labels]
        values = self.reader.get_many([count_key(code, b) for b in bodies])
        return [decode_count(v) for v in values]

    def top(self, n: int, kind: str) -> list[tuple[int, int]]:
        """The ``n`` bodies with the most elements of ``kind``: ``(body, count)`` by count
        descending, then body ascending."""
        return self.threshold(1, kind, n=check_count(n, "N"))

    def threshold(
        self, least: int, kind: str, *, offset: int = 0, n: int = THRESHOLD_PAGE
    ) -> list[tuple[int, int]]:
        """``(body, count)`` of the bodies with at least ``least`` elements of ``kind``,
        ranked as :meth:`top`, from rank ``offset``, at most ``n``."""
        code = kind_code(kind)
        least = max(check_count(least, "threshold"), 1)
        offset, n = check_count(offset, "offset"), check_count(n, "n")
        if n == 0 or least >= _UINT64:
            return []
        keys = self.reader.scan(*rank_range(code, least), keys_only=True)
        return [parse_rank(tkey) for tkey, _ in islice(keys, offset, offset + n)]


def open_labelsz(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> LabelszInstance:
    """The labelsz ``info`` at ``node_uuid`` (``reload`` recounts there in one
    transaction; 409 on a committed node)."""
    view = access.catalog.view(node_uuid, info.name)

    def rebuild() -> None:
        view.check_writable()
        build_synced(access, node_uuid, info)

    return LabelszInstance(view, info.name, rebuild)
