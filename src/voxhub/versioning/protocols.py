"""What datatypes see of versioned storage: a key-value view bound to (instance, version).

Datatypes build *type keys* (``tkey``: bytes, prefix-free within an instance: fixed width
per key class, or terminated) and never see versions, tombstones or backends. Reads return
the value visible from the bound version node: its own value, else the nearest
ancestor's; a tombstone or no value at all reads as ``None``. Writes go to the bound
version only and are refused with :class:`voxhub.errors.VersionLocked` when that node is
committed (unless the instance is unversioned).

``transact`` is how read-modify-write stays correct with many writers in many processes:
the function runs isolated from every other ``transact`` on the same store and its writes
land all together (backends with transactions) or are retried (optimistic backends), so it
must not have side effects outside the ``VersionedTxn`` it receives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")


class VersionedReader(Protocol):
    """Version-resolved reads of one instance at one version node."""

    def get(self, tkey: bytes) -> bytes | None:
        """The value of ``tkey`` visible at the bound node, or ``None``."""
        ...

    def get_many(self, tkeys: Sequence[bytes]) -> list[bytes | None]:
        """Visible values of ``tkeys``, in order."""
        ...

    def with_values(
        self, tkeys: Sequence[bytes], use: Callable[[Sequence[bytes | memoryview | None]], T]
    ) -> T:
        """``use(get_many(tkeys))``, but the values may be zero-copy views (``bytes`` or
        read-only ``memoryview``) valid only until ``use`` returns, all from one snapshot.

        ``use`` must not keep a view, may run again if the store retries the read, and must
        not write to the store (it runs inside a read transaction on LMDB).
        """
        ...

    def scan(
        self, start: bytes, end: bytes | None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        """Visible ``(tkey, value)`` pairs with ``start <= tkey < end``, ascending.

        Tombstoned and absent keys are skipped; with ``keys_only`` the value is ``None``.
        """
        ...


class VersionedTxn(VersionedReader, Protocol):
    """Reads and writes inside one isolated transaction (reads see earlier writes)."""

    def put(self, tkey: bytes, value: bytes) -> None:
        """Set ``tkey`` at the bound version (value must be non-empty bytes)."""
        ...

    def delete(self, tkey: bytes) -> None:
        """Make ``tkey`` absent at the bound version (a tombstone if an ancestor has it)."""
        ...

    def take_ids(self, counter: str, count: int, *, floor: int = 1) -> int:
        """Reserve ``count`` consecutive ids of the repo-wide ``counter`` (one key shared
        by every version and branch) in this transaction; return the first.

        The ids are consumed only if the transaction commits
        (:mod:`voxhub.versioning.counters`).
        """
        ...

    def raise_id_floor(self, counter: str, floor: int) -> None:
        """Make ``counter`` hand out no id below ``floor``, in this transaction (the key
        is written only if the floor moves)."""
        ...

    def joined(self, other: VersionedView) -> VersionedTxn:
        """Another instance's view at the same node of the same store, inside this
        transaction: reads see this transaction's writes, writes commit or abort with
        them (``InvalidRequest`` for another store or node)."""
        ...

    def repo_generation(self, root: str) -> int:
        """The generation number of repo ``root`` (:mod:`voxhub.versioning.generations`)
        read inside this transaction: a change of the repo's records (an instance that
        starts following another) committed meanwhile makes the transaction rerun or
        fail on stores that validate their reads, and on stores that serialise
        transactions it cannot land meanwhile."""
        ...


class VersionedView(VersionedReader, Protocol):
    """A versioned instance at one node: reads, plain writes, and transactions."""

    @property
    def node_uuid(self) -> str:
        """The UUID of the node the view is bound to."""
        ...

    def written_here(self, start: bytes, end: bytes) -> list[bytes]:
        """The tkeys in ``[start, end)`` whose value the bound node stored itself (not
        inherited from an ancestor), ascending; read from the node's write set."""
        ...

    @property
    def writable(self) -> bool:
        """Whether writes are allowed now (node open, or the instance is unversioned)."""
        ...

    def check_writable(self) -> None:
        """Raise ``VersionLocked`` naming the node and instance if writes are refused."""
        ...

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Set several keys at the bound version in one atomic batch."""
        ...

    def delete_many(self, tkeys: Iterable[bytes]) -> None:
        """Delete several keys at the bound version in one atomic batch."""
        ...

    def transact(self, fn: Callable[[VersionedTxn], T]) -> T:
        """Run ``fn`` as one isolated read-modify-write unit; see the module docstring."""
        ...
