"""Repo-wide id counters: reservations are disjoint and above every floor raised before,
and a counter moves only when the transaction moving it commits."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.errors import Conflict, InvalidRequest
from voxhub.storage.memory import MemoryStore
from voxhub.versioning.counters import counter_key, peek, raise_floor, take

OPS = st.lists(st.tuples(st.sampled_from(["take", "raise"]), st.integers(1, 2**40)), max_size=30)


@settings(deadline=None, max_examples=100)
@given(OPS)
def test_reservations_are_disjoint_and_above_every_floor(ops: list[tuple[str, int]]) -> None:
    store = MemoryStore()
    taken: list[range] = []
    floor = 1
    for op, n in ops:
        if op == "take":
            count = n % 1000 + 1
            first = store.transact(lambda txn, c=count: take(txn, "c", c))
            assert first >= floor
            taken.append(range(first, first + count))
            floor = first + count
        else:
            store.transact(lambda txn, f=n: raise_floor(txn, "c", f))
            floor = max(floor, n)
        assert peek(store, "c") == floor
    assert all(a.stop <= b.start for a, b in itertools.pairwise(taken))  # disjoint, in order


def test_a_failed_transaction_moves_no_counter() -> None:
    store = MemoryStore()

    def fail(txn: object) -> None:
        take(txn, "c", 5)  # type: ignore[arg-type]
        raise RuntimeError("the write that needed the ids failed")

    with pytest.raises(RuntimeError):
        store.transact(fail)
    assert store.get(counter_key("c")) is None
    assert store.transact(lambda txn: take(txn, "c", 1)) == 1


def test_raising_to_a_lower_floor_writes_nothing() -> None:
    store = MemoryStore()
    store.transact(lambda txn: raise_floor(txn, "c", 100))
    writes: list[bytes] = []

    def lower(txn: object) -> None:
        class Spy:
            def get(self, key: bytes) -> bytes | None:
                return txn.get(key)  # type: ignore[attr-defined,no-any-return]

            def put(self, key: bytes, value: bytes) -> None:
                writes.append(key)

        raise_floor(Spy(), "c", 50)  # type: ignore[arg-type]

    store.transact(lower)
    assert writes == []
    assert peek(store, "c") == 100


def test_bad_counts_and_exhaustion_are_refused() -> None:
    store = MemoryStore()
    with pytest.raises(InvalidRequest):
        store.transact(lambda txn: take(txn, "c", 0))
    store.transact(lambda txn: raise_floor(txn, "c", 2**64 - 1))
    with pytest.raises(Conflict, match="exhausted"):
        store.transact(lambda txn: take(txn, "c", 2))
    assert store.transact(lambda txn: take(txn, "c", 1)) == 2**64 - 1
