"""What a labelmap needs of its id counters, and which written ids must move them.

The label counter and the repo's mutation counter move inside the transaction of the
write or mutation that needs them (:mod:`voxhub.versioning.counters`): a request that
fails or is killed consumes no id, and one that lands always leaves the counter above
the ids it stored.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from voxhub.versioning.counters import SEEN_LIMIT
from voxhub.versioning.protocols import VersionedTxn


class Counters(Protocol):
    """The label counter of one instance and the mutation counter of its repo."""

    def reserve(self, txn: VersionedTxn, count: int) -> int:
        """The first of ``count`` fresh label ids, taken in ``txn``."""
        ...

    def see(self, txn: VersionedTxn, label: int) -> None:
        """``txn`` stores ``label``: the counter must not hand it out any more."""
        ...

    def covers(self, label: int) -> bool:
        """Whether ``label`` is already below the counter (read outside a transaction)."""
        ...

    def next_label(self) -> int:
        """The id the next reservation would start at (nothing is reserved)."""
        ...

    def mutation_id(self, txn: VersionedTxn) -> int:
        """A fresh repo-wide mutation id, taken in ``txn``."""
        ...


def top_counted_id(arr: np.ndarray, top: int | None = None) -> int:
    """The largest id of ``arr`` that the label counter must stay above (0: none);
    ``top``, when given, is ``arr.max()`` (spares a pass over a large write).

    Ids from 2**63 up never move the counter (see ``StoreCounters.see``), so they do not
    hide the largest id below them.
    """
    if not arr.size:
        return 0
    top = int(arr.max()) if top is None else top
    if top >= SEEN_LIMIT:  # rare: hashes or sentinels among the ids
        top = int(arr.max(initial=0, where=arr < SEEN_LIMIT))
    return top


def top_counted_label(labels: np.ndarray) -> int:
    """:func:`top_counted_id` of a block from its sorted distinct ids (0: none)."""
    below = int(np.searchsorted(labels, SEEN_LIMIT)) if labels.size else 0
    return int(labels[below - 1]) if below else 0
