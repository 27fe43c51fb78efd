"""Repo-wide id counters kept in the store: label ranges and mutation ids.

A counter is one unversioned metadata key (``range/<name>``) holding the next id it will
hand out. Being one key, it is disjoint across threads, processes and branches (two
proofreaders on two branches must never be handed the same new body id).

A counter moves **only inside a store transaction**: the transaction of the write that
needs the ids (a label write that brings ids above the counter, a split, a cleave, the
mutation id of any mutation), or a tiny transaction of its own for a bare reservation
(``POST nextlabel``). So a failed or killed request leaves neither its data nor a
consumed id, and a successful one leaves both: the counter never lags the data, and ids
are not wasted by requests that did not happen. These keys are never written by
``compare_and_swap``: on S3 a CAS and a transaction on the same key do not exclude each
other (:mod:`voxhub.storage.s3_txn`), so one mechanism serves every user.

Inside a transaction the key is read and written like any other: on LMDB write
transactions are serialised anyway; on S3 the transaction locks the key it writes and
validates the one it read, so concurrent users of a counter serialise on it (label
writes touch it only when they bring ids above it: see
:func:`voxhub.datatypes.labelmap.write.write_labels`).
"""

from __future__ import annotations

from voxhub.errors import Conflict, InvalidRequest
from voxhub.storage.base import KVStore, Txn
from voxhub.versioning.keys import meta_key
from voxhub.versioning.protocols import VersionedTxn

#: written ids at or above this do not raise the label counter (see ``StoreCounters.see``).
SEEN_LIMIT = 2**63


def counter_key(name: str) -> bytes:
    """The metadata key of the counter ``name``."""
    return meta_key(f"range/{name}")


def _read(raw: bytes | None, floor: int) -> int:
    return max(int(raw) if raw is not None else floor, floor)


def take(txn: Txn, name: str, count: int, *, floor: int = 1) -> int:
    """Reserve ``count`` consecutive ids of counter ``name`` (64-bit, never below
    ``floor``) inside ``txn``; return the first."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidRequest(f"cannot reserve {count!r} ids of {name}")
    key = counter_key(name)
    first = _read(txn.get(key), floor)
    if first + count > 2**64:
        raise Conflict(f"the {name} id space (8 bytes) is exhausted")
    txn.put(key, str(first + count).encode())
    return first


def raise_floor(txn: Txn, name: str, floor: int) -> None:
    """Make counter ``name`` hand out no id below ``floor`` (e.g. ids seen in data),
    inside ``txn``. The key is written only when the floor actually moves."""
    key = counter_key(name)
    raw = txn.get(key)
    if raw is not None and int(raw) >= floor:
        return
    txn.put(key, str(floor).encode())


def peek(store: KVStore, name: str, *, floor: int = 1) -> int:
    """The id the next reservation of ``name`` would start at (nothing is reserved).

    Counters only grow, so a value read here is a lower bound of every later one.
    """
    return _read(store.get(counter_key(name)), floor)


class StoreCounters:
    """Counters of one labelmap instance (labels) and of its repo (mutation ids).

    Every method that moves a counter takes the caller's transaction; see the module
    docstring.
    """

    def __init__(self, store: KVStore, repo_root: str, instance_uuid: str, first_mutation: int):
        self._store = store
        self._labels = f"labels/{instance_uuid}"
        self._mutations = f"mutations/{repo_root}"
        self._first_mutation = first_mutation

    def reserve(self, txn: VersionedTxn, count: int) -> int:
        """The first of ``count`` fresh label ids, above every id :meth:`see` was shown."""
        return txn.take_ids(self._labels, count)

    def see(self, txn: VersionedTxn, label: int) -> None:
        """Ids up to ``label`` are in use (by data ``txn`` writes): never hand them out.

        Ids from 2**63 up (hashes, sentinels such as 2**64-1) do not move the counter, or
        one such id would exhaust it; fresh ids stay below 2**63 and cannot meet them.
        """
        if label < SEEN_LIMIT:
            txn.raise_id_floor(self._labels, label + 1)

    def covers(self, label: int) -> bool:
        """Whether ``label`` can never be handed out any more (one read, no transaction).

        True stays true (counters only grow), so a writer that finds its ids covered
        before its transaction need not touch the counter inside it.
        """
        return label >= SEEN_LIMIT or label < self.next_label()

    def next_label(self) -> int:
        """The id the next reservation would start at (without reserving it)."""
        return peek(self._store, self._labels)

    def mutation_id(self, txn: VersionedTxn) -> int:
        """A fresh repo-wide mutation id (DVID's numbering: the first is 1000000001)."""
        return txn.take_ids(self._mutations, 1, floor=self._first_mutation + 1)
