"""A single-version ``VersionedView`` over ``MemoryStore``, for tests of block I/O.

Type keys are used as store keys directly (one instance, one version), and ``locked``
stands in for a committed node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from voxhub.errors import VersionLocked
from voxhub.storage.memory import MemoryStore
from voxhub.versioning.protocols import VersionedTxn

T = TypeVar("T")


class FakeView:
    """Implements ``voxhub.versioning.protocols.VersionedView`` for one version."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store if store is not None else MemoryStore()
        self.locked = False
        self.transactions = 0

    @property
    def writable(self) -> bool:
        return not self.locked

    def check_writable(self) -> None:
        if self.locked:
            raise VersionLocked("fake node is committed")

    def get(self, tkey: bytes) -> bytes | None:
        return self.store.get(tkey)

    def get_many(self, tkeys: Sequence[bytes]) -> list[bytes | None]:
        return self.store.get_many(tkeys)

    def with_values(
        self, tkeys: Sequence[bytes], use: Callable[[Sequence[bytes | memoryview | None]], T]
    ) -> T:
        return use(self.get_many(tkeys))

    def scan(
        self, start: bytes, end: bytes | None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        return self.store.scan(start, end, keys_only=keys_only)

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        self.check_writable()
        self.store.put_many(items)

    def delete_many(self, tkeys: Iterable[bytes]) -> None:
        self.check_writable()
        self.store.delete_many(tkeys)

    def transact(self, fn: Callable[[VersionedTxn], T]) -> T:
        self.check_writable()
        self.transactions += 1
        return self.store.transact(fn)

    def stored_keys(self) -> list[bytes]:
        """Every stored key (to check what a write left behind)."""
        return [k for k, _ in self.store.scan(b"", None, keys_only=True)]
