"""The byte layer: one ordered key-value interface that every backend implements.

Keys and values are ``bytes``. Nothing here knows about versions, instances or voxels; the
layers above build keys (``voxhub.versioning.keys``) and interpret values.

Contract (checked by the shipped conformance suite, ``voxhub.testing.store.StoreTests``):

* ``get`` of a missing key returns ``None``; ``delete`` of a missing key is a no-op.
* ``scan(start, end)`` yields ``(key, value)`` pairs with ``start <= key < end`` in
  ascending byte order; ``end=None`` means "to the end of the key space". With
  ``keys_only=True`` the value slot is ``None`` and backends may skip reading values.
* ``pick_values(ranges, choose)`` lets ``choose`` pick one key per range from its keys
  (ascending, stopping early) and returns the picked keys' values;
  ``with_picked_values(ranges, choose, use)`` hands the picked values to ``use`` as
  views valid during the call; ``same_values(pairs)`` says whether two keys hold equal
  values. All have portable defaults; LMDB serves them from one read transaction
  without copying values.
* ``put_many`` / ``delete_many`` apply a batch. Backends with ``supports_transactions``
  apply it atomically (all or nothing); others apply it key by key.
* ``compare_and_swap(key, expected, new)`` replaces the value only if the current value
  equals ``expected`` (``None`` = key absent) and returns whether it did. ``new=None``
  deletes. This is what repo and DAG metadata updates use, so two processes can never
  lose each other's commit. It must work on every backend (object stores use ETags).
* ``transact(fn)`` runs ``fn(txn)`` as one read-modify-write unit, isolated from every
  other ``transact`` on the same store, in this and other processes. ``fn`` may be called
  again if an optimistic backend detects a concurrent change, so it must not have side
  effects outside ``txn``. On backends with ``supports_transactions`` the writes of one
  call become visible all at once; an exception raised by ``fn`` discards them all.
* Empty values are legal and distinct from a missing key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import ClassVar, Protocol, TypeVar

T = TypeVar("T")


class Txn(Protocol):
    """The view of the store inside :meth:`KVStore.transact`.

    Reads see the transaction's own earlier writes.
    """

    def get(self, key: bytes) -> bytes | None: ...

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]: ...

    def put(self, key: bytes, value: bytes) -> None: ...

    def delete(self, key: bytes) -> None: ...

    def scan(
        self, start: bytes, end: bytes | None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]: ...


class KVStore(ABC):
    """Abstract ordered byte key-value store. See the module docstring for the contract."""

    #: multi-key batches and ``transact`` are atomic (all or nothing).
    supports_transactions: ClassVar[bool] = False
    #: other processes may open the same store concurrently.
    supports_multiprocess: ClassVar[bool] = False
    #: reads are served from local memory or a memory map in microseconds and never wait
    #: for writers, so a server may run them on its event loop instead of a thread.
    low_latency_reads: ClassVar[bool] = False
    #: data survives ``close()`` and reopening with the same spec.
    persistent: ClassVar[bool] = False

    # -- reads -----------------------------------------------------------------------
    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """Return the value stored under ``key``, or ``None`` if there is none."""

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """Return the values of ``keys`` in the same order (``None`` where missing)."""
        return [self.get(k) for k in keys]

    def change_marker(self) -> int | None:
        """A number that moves whenever a write to this store completes, from this
        process or any other sharing it, and never otherwise; ``None`` if the backend
        cannot tell cheaply. Equal markers at two moments mean nothing was written in
        between, so a reader may keep what it derived from the records it read (one
        check instead of reading them again)."""
        return None

    @abstractmethod
    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        """Yield ``(key, value)`` for ``start <= key < end`` in ascending order."""

    def scan_many(
        self, ranges: Sequence[tuple[bytes, bytes]], *, keys_only: bool = False
    ) -> list[list[tuple[bytes, bytes | None]]]:
        """Run several half-open scans; one result list per range, in order.

        Backends override this to serve all ranges from one snapshot / round trip; the
        versioned layer uses it to resolve many keys' versions at once.
        """
        return [list(self.scan(s, e, keys_only=keys_only)) for s, e in ranges]

    def pick_values(
        self,
        ranges: Sequence[tuple[bytes, bytes]],
        choose: Callable[[Iterator[bytes]], bytes | None],
    ) -> list[bytes | None]:
        """For each range, let ``choose`` pick one of its keys; return that key's value.

        ``choose`` gets an iterator over the range's keys in ascending order and may stop
        early; it is not called for an empty range. The result is ``None`` where it
        picked nothing or the picked key vanished meanwhile. This is how the versioned
        layer reads: it decides the visible version from keys alone and reads one value,
        however many versions are stored (data keys hold versions newest first, so a read
        at a chain's leaf stops at the first key). ``choose`` must be pure and quick
        (backends call it inside a read transaction, from several threads at once, and
        again when a read is retried). The default is a keys-only
        ``scan_many`` and one ``get_many``; LMDB walks a cursor in one read transaction,
        S3 lists each range only as far as ``choose`` reads.
        """
        found = self.scan_many(ranges, keys_only=True)
        chosen: list[bytes | None] = []
        for entries in found:
            keys = [k for k, _ in entries]
            chosen.append(choose(iter(keys)) if keys else None)
        values = iter(self.get_many([k for k in chosen if k is not None]))
        return [next(values) if k is not None else None for k in chosen]

    def with_picked_values(
        self,
        ranges: Sequence[tuple[bytes, bytes]],
        choose: Callable[[Iterator[bytes]], bytes | None],
        use: Callable[[Sequence[bytes | memoryview | None]], T],
    ) -> T:
        """``use(pick_values(ranges, choose))``, where the values may be zero-copy views.

        The values handed to ``use`` (``bytes`` or read-only ``memoryview``) are valid only
        until ``use`` returns: LMDB passes views into its map, inside the read
        transaction, so a volume read decodes each block where it lies instead of first
        copying it out (that copy, into fresh memory, cost ~40x the rest of the lookup).
        ``use`` may be called again if the backend retries the read, must not keep a view
        and must not write to this store.
        """
        return use(self.pick_values(ranges, choose))

    def same_values(self, pairs: Sequence[tuple[bytes, bytes]]) -> list[bool]:
        """Whether the two keys of each pair hold equal values (both missing: equal).

        Diffs and merge checks compare the visible versions of a key this way; LMDB
        compares in place, without copying values out of the map.
        """
        keys = sorted({k for pair in pairs for k in pair})
        values = dict(zip(keys, self.get_many(keys), strict=True))
        return [values[a] == values[b] for a, b in pairs]

    # -- writes ----------------------------------------------------------------------
    @abstractmethod
    def put(self, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``key``; durable when the call returns."""

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Store several pairs (atomically where ``supports_transactions``)."""
        for k, v in items:
            self.put(k, v)

    @abstractmethod
    def delete(self, key: bytes) -> None:
        """Remove ``key``; a missing key is not an error."""

    def delete_many(self, keys: Iterable[bytes]) -> None:
        """Remove several keys (atomically where ``supports_transactions``)."""
        for k in keys:
            self.delete(k)

    def delete_range(self, start: bytes, end: bytes | None = None) -> int:
        """Remove every key in ``[start, end)``; return how many were removed."""
        keys = [k for k, _ in self.scan(start, end, keys_only=True)]
        self.delete_many(keys)
        return len(keys)

    @abstractmethod
    def compare_and_swap(self, key: bytes, expected: bytes | None, new: bytes | None) -> bool:
        """Set ``key`` to ``new`` only if it currently holds ``expected``; say if it did."""

    @abstractmethod
    def transact(self, fn: Callable[[Txn], T]) -> T:
        """Run ``fn`` as one isolated read-modify-write unit and return its result."""

    def bulk_writes(self) -> AbstractContextManager[None]:
        """A context for a bulk load: many large writes this process will not read back
        soon. Backends may keep less of what is written cached (LMDB drops the pages it
        has written); what is stored, and when it is durable, stays as without it."""
        return nullcontext()

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027  (optional hook, a no-op by default)
        """Release resources. Further calls are undefined."""

    def spec(self) -> str:
        """A URL that reopens this store with :func:`voxhub.storage.open_store`."""
        raise NotImplementedError

    def __enter__(self) -> KVStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with ``prefix``.

    ``None`` when no such key exists (the prefix is empty or all 0xFF bytes), which
    ``scan`` reads as "to the end".
    """
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return None
    p[-1] += 1
    return bytes(p)
