"""A Hypothesis state machine that compares a store with a sorted ``dict`` model.

Keys come from a tiny alphabet with 0x00 and 0xFF so that prefixes, equal keys and byte
order edge cases turn up often; every step is followed by a full-scan comparison.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from voxhub.storage.base import KVStore, Txn

keys = st.lists(st.sampled_from([0x00, 0x01, 0x61, 0xFE, 0xFF]), min_size=1, max_size=3).map(bytes)
values = st.binary(max_size=6)
bounds = st.one_of(st.just(b""), keys)
ends = st.one_of(st.none(), keys)
#: one write inside a transaction: (key, value) to put, or (key, None) to delete.
txn_writes = st.lists(st.tuples(keys, st.one_of(st.none(), values)), max_size=5)


def make_model_machine(new_store: Callable[[], KVStore]) -> type[RuleBasedStateMachine]:
    """A state machine class whose every run uses a fresh store from ``new_store``."""

    class StoreMatchesModel(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.store = new_store()
            self.model: dict[bytes, bytes] = {}

        def teardown(self) -> None:
            self.store.close()

        def _in(self, start: bytes, end: bytes | None) -> list[tuple[bytes, bytes]]:
            return sorted(
                (k, v) for k, v in self.model.items() if k >= start and (end is None or k < end)
            )

        @rule(key=keys, value=values)
        def put(self, key: bytes, value: bytes) -> None:
            self.store.put(key, value)
            self.model[key] = value

        @rule(key=keys)
        def delete(self, key: bytes) -> None:
            self.store.delete(key)
            self.model.pop(key, None)

        @rule(items=st.lists(st.tuples(keys, values), max_size=6))
        def put_many(self, items: list[tuple[bytes, bytes]]) -> None:
            self.store.put_many(items)
            self.model.update(items)

        @rule(ks=st.lists(keys, max_size=6))
        def delete_many(self, ks: list[bytes]) -> None:
            self.store.delete_many(ks)
            for k in ks:
                self.model.pop(k, None)

        @rule(ks=st.lists(keys, max_size=6))
        def get_many(self, ks: list[bytes]) -> None:
            assert self.store.get_many(ks) == [self.model.get(k) for k in ks]

        @rule(start=bounds, end=ends, keys_only=st.booleans())
        def scan(self, start: bytes, end: bytes | None, keys_only: bool) -> None:
            want = [(k, None if keys_only else v) for k, v in self._in(start, end)]
            assert list(self.store.scan(start, end, keys_only=keys_only)) == want

        @rule(ranges=st.lists(st.tuples(bounds, keys), max_size=4))
        def scan_many(self, ranges: list[tuple[bytes, bytes]]) -> None:
            assert self.store.scan_many(ranges) == [self._in(s, e) for s, e in ranges]

        @rule(
            ranges=st.lists(st.tuples(bounds, keys), max_size=4),
            pick=st.integers(0, 3),
        )
        def pick_values(self, ranges: list[tuple[bytes, bytes]], pick: int) -> None:
            """``pick_values`` hands ``choose`` each range's keys in order and returns the
            value of the key it picked (here: the ``pick``-th, stopping there)."""
            seen: list[list[bytes]] = []

            def choose(found: Iterator[bytes]) -> bytes | None:
                taken = list(itertools.islice(found, pick + 1))
                seen.append(taken)
                return taken[pick] if len(taken) > pick and pick != 3 else None

            got = self.store.pick_values(ranges, choose)
            want = [[k for k, _ in self._in(s, e)] for s, e in ranges]
            # ranges may be served in parallel: compare what was seen, in any order
            assert sorted(seen) == sorted(ks[: pick + 1] for ks in want if ks)
            assert got == [
                self.model[ks[pick]] if len(ks) > pick and pick != 3 else None for ks in want
            ]

        @rule(ranges=st.lists(st.tuples(bounds, keys), max_size=4), pick=st.integers(0, 2))
        def with_picked_values(self, ranges: list[tuple[bytes, bytes]], pick: int) -> None:
            """``with_picked_values`` hands ``use`` what ``pick_values`` returns (values
            that may be views, read inside the call) and returns what ``use`` returns."""

            def choose(found: Iterator[bytes]) -> bytes | None:
                return next(itertools.islice(found, pick, None), None)

            def use(values: Sequence[bytes | memoryview | None]) -> list[bytes | None]:
                return [None if v is None else bytes(v) for v in values]

            want = [[k for k, _ in self._in(s, e)] for s, e in ranges]
            got = self.store.with_picked_values(ranges, choose, use)
            assert got == [self.model[ks[pick]] if len(ks) > pick else None for ks in want]

        @rule(pairs=st.lists(st.tuples(keys, keys), max_size=4))
        def same_values(self, pairs: list[tuple[bytes, bytes]]) -> None:
            want = [self.model.get(a) == self.model.get(b) for a, b in pairs]
            assert self.store.same_values(pairs) == want

        @rule(start=bounds, end=ends)
        def delete_range(self, start: bytes, end: bytes | None) -> None:
            doomed = self._in(start, end)
            assert self.store.delete_range(start, end) == len(doomed)
            for k, _ in doomed:
                del self.model[k]

        @rule(
            key=keys,
            guess=st.one_of(st.none(), values),
            use_current=st.booleans(),
            new=st.one_of(st.none(), values),
        )
        def compare_and_swap(
            self, key: bytes, guess: bytes | None, use_current: bool, new: bytes | None
        ) -> None:
            expected = self.model.get(key) if use_current else guess
            swapped = self.store.compare_and_swap(key, expected, new)
            assert swapped == (self.model.get(key) == expected)
            if swapped:
                if new is None:
                    self.model.pop(key, None)
                else:
                    self.model[key] = new

        @rule(writes=txn_writes, probe=keys)
        def transact(self, writes: list[tuple[bytes, bytes | None]], probe: bytes) -> None:
            def fn(txn: Txn) -> bytes | None:
                for k, v in writes:
                    if v is None:
                        txn.delete(k)
                    else:
                        txn.put(k, v)
                return txn.get(probe)

            result = self.store.transact(fn)
            for k, v in writes:
                if v is None:
                    self.model.pop(k, None)
                else:
                    self.model[k] = v
            assert result == self.model.get(probe)

        @invariant()
        def full_scan_matches(self) -> None:
            assert list(self.store.scan(b"")) == sorted(self.model.items())

    return StoreMatchesModel
