"""Label indexes as of a mutation (DVID's ``index/{label}?mutid=``).

A body's index key holds only its latest value, so every mutation keeps, in its own
transaction, the value each index it changes had just before: under
``index_history_key(body, mutation id)``, the stored index bytes, or :data:`ABSENT` when
the body had no index. This is DVID's mutation cache (``mutcache``: each index "just
before modification"), always on; it costs one copy of each index a mutation rewrites,
which the mutation reads and writes anyway.

The index of a body *before* mutation ``N`` is then the copy kept by the first mutation
``>= N`` that changed the body, or the current index if none did. Mutation ids grow along
a branch (a node's children are created after it is committed) and the keys are versioned
like every other, so a node sees the copies of its own branch only. Voxel writes and index
ingests between mutations are not recorded: the answer is the index as the mutations
left it. A renumber of several pairs is one transaction with one mutation id per pair; its
copies go under the last id, so the index before any of its ids is the one before the
renumber (exact for each pair's own id, since pairs name distinct bodies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import (
    KEY_INDEX,
    KEY_INDEX_HISTORY,
    id_of,
    index_history_key,
    index_key,
)
from voxhub.versioning.protocols import VersionedReader, VersionedTxn, VersionedView

T = TypeVar("T")

#: the value kept for a body that had no index before the mutation (never a real index:
#: those are zstd frames)
ABSENT = b"\x00"
_INDEX = bytes([KEY_INDEX])
_LAST_ID = 2**64 - 1


class IndexHistoryTxn:
    """``txn`` that keeps, on the first write of each index in mutation ``mid``, the value
    that write replaces (a :class:`~voxhub.versioning.protocols.VersionedTxn`)."""

    def __init__(self, txn: VersionedTxn, mid: int) -> None:
        self._txn = txn
        self._mid = mid
        self._kept: set[bytes] = set()

    def _keep(self, tkey: bytes) -> None:
        if tkey[:1] != _INDEX or tkey in self._kept:
            return
        self._kept.add(tkey)
        before = self._txn.get(tkey)
        self._txn.put(index_history_key(id_of(tkey), self._mid), before or ABSENT)

    def put(self, tkey: bytes, value: bytes) -> None:
        self._keep(tkey)
        self._txn.put(tkey, value)

    def delete(self, tkey: bytes) -> None:
        self._keep(tkey)
        self._txn.delete(tkey)

    def get(self, tkey: bytes) -> bytes | None:
        return self._txn.get(tkey)

    def get_many(self, tkeys: Sequence[bytes]) -> list[bytes | None]:
        return self._txn.get_many(tkeys)

    def with_values(
        self, tkeys: Sequence[bytes], use: Callable[[Sequence[bytes | memoryview | None]], T]
    ) -> T:
        return self._txn.with_values(tkeys, use)

    def scan(
        self, start: bytes, end: bytes | None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        return self._txn.scan(start, end, keys_only=keys_only)

    def take_ids(self, counter: str, count: int, *, floor: int = 1) -> int:
        return self._txn.take_ids(counter, count, floor=floor)

    def raise_id_floor(self, counter: str, floor: int) -> None:
        self._txn.raise_id_floor(counter, floor)

    def joined(self, other: VersionedView) -> VersionedTxn:
        return self._txn.joined(other)

    def repo_generation(self, root: str) -> int:
        return self._txn.repo_generation(root)


def keep_index_history(txn: VersionedTxn, mid: int) -> VersionedTxn:
    """``txn`` for mutation ``mid``, keeping the indexes it replaces (see module doc)."""
    return IndexHistoryTxn(txn, mid)


def index_before(reader: VersionedReader, body: int, mutation_id: int) -> LabelIndex | None:
    """The index of ``body`` just before mutation ``mutation_id`` (``None``: it had none).

    One key-only scan from the first kept copy at or after ``mutation_id``, then one read.
    """
    start = index_history_key(body, mutation_id)
    end = index_history_key(body + 1, 0) if body < _LAST_ID else bytes([KEY_INDEX_HISTORY + 1])
    first = next(iter(reader.scan(start, end, keys_only=True)), None)
    value = reader.get(first[0] if first is not None else index_key(body))
    if value is None or value == ABSENT:
        return None
    return LabelIndex.decode(body, value)
