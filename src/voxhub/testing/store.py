"""The conformance suite every :class:`~voxhub.storage.base.KVStore` backend must pass.

Use it like zarr's ``StoreTests``: subclass, implement :meth:`StoreTests.make_store`, and
let pytest collect the inherited tests::

    class TestMyStore(StoreTests):
        def make_store(self) -> KVStore:
            return MyStore(tempfile.mkdtemp(dir=self.workdir))

``make_store`` may be called several times per test (the Hypothesis state machine needs a
fresh store per example); every store it returns is closed after the test. Persistent
backends are reopened with :meth:`StoreTests.reopen` (``open_store(store.spec())`` unless
overridden). Slow backends lower :attr:`StoreTests.max_examples` and friends.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from voxhub.storage import open_store
from voxhub.storage.base import KVStore, Txn, prefix_end
from voxhub.testing.store_model import make_model_machine

#: keys that exercise byte order at the edges (0x00 and 0xFF, prefixes of each other).
EDGE_KEYS = [
    b"\x00",
    b"\x00\x00",
    b"\x00\xff",
    b"a",
    b"a\x00",
    b"a\xfe",
    b"a\xff",
    b"a\xff\xff\x00",
    b"ab",
    b"b",
    b"\xfe\xff",
    b"\xff",
    b"\xff\x00",
    b"\xff\xff",
]


class _Boom(Exception):
    """Raised inside transactions to check that they are discarded."""


def _pairs(
    store: KVStore, start: bytes = b"", end: bytes | None = None
) -> list[tuple[bytes, bytes | None]]:
    return list(store.scan(start, end))


def _expected(
    data: dict[bytes, bytes], start: bytes, end: bytes | None
) -> list[tuple[bytes, bytes | None]]:
    return [(k, data[k]) for k in sorted(data) if k >= start and (end is None or k < end)]


class StoreTests:
    """Pytest base class: the behaviour the module docstring of ``storage.base`` promises."""

    #: Hypothesis examples for the state-machine test (lower it for remote backends).
    max_examples: ClassVar[int] = 60
    #: steps per state-machine example.
    stateful_step_count: ClassVar[int] = 25
    #: threads and increments per thread in the concurrent ``transact`` test.
    concurrent_threads: ClassVar[int] = 4
    increments_per_thread: ClassVar[int] = 25
    #: keys written by the "many keys" scan test (above the usual page/batch sizes).
    many_keys: ClassVar[int] = 1100

    workdir: Path

    # -- hooks -------------------------------------------------------------------------
    def make_store(self) -> KVStore:
        """Return a new, empty store. Subclasses must implement this."""
        raise NotImplementedError

    def reopen(self, store: KVStore) -> KVStore:
        """Open ``store``'s data again after it was closed."""
        return open_store(store.spec())

    # -- fixtures ------------------------------------------------------------------------
    @pytest.fixture(autouse=True)
    def _track_stores(self, tmp_path: Path) -> Iterator[None]:
        self.workdir = tmp_path
        self._opened: list[KVStore] = []
        yield
        for s in reversed(self._opened):
            s.close()

    def new_store(self) -> KVStore:
        """``make_store()``, closed automatically after the test."""
        s = self.make_store()
        self._opened.append(s)
        return s

    @pytest.fixture
    def store(self) -> KVStore:
        return self.new_store()

    # -- single keys ---------------------------------------------------------------------
    def test_get_missing_is_none(self, store: KVStore) -> None:
        assert store.get(b"nope") is None
        assert store.get_many([b"nope", b"\x00"]) == [None, None]

    @pytest.mark.parametrize(
        "value", [b"", b"x", bytes(range(256)), b"\x00" * 1000, random.Random(1).randbytes(1 << 20)]
    )
    def test_put_get_round_trip(self, store: KVStore, value: bytes) -> None:
        for key in (b"k", b"\x00", b"\xff\xff", b"a\x00b\xffc"):
            store.put(key, value)
            got = store.get(key)
            assert got == value
            assert isinstance(got, bytes)

    def test_empty_value_differs_from_missing(self, store: KVStore) -> None:
        store.put(b"e", b"")
        assert store.get(b"e") == b""
        assert _pairs(store) == [(b"e", b"")]

    def test_overwrite(self, store: KVStore) -> None:
        store.put(b"k", b"one")
        store.put(b"k", b"two")
        assert store.get(b"k") == b"two"
        assert _pairs(store) == [(b"k", b"two")]

    def test_delete_and_delete_missing(self, store: KVStore) -> None:
        store.put(b"k", b"v")
        store.put(b"k2", b"v2")
        store.delete(b"k")
        assert store.get(b"k") is None
        store.delete(b"k")  # deleting a missing key is a no-op
        store.delete(b"never")
        assert _pairs(store) == [(b"k2", b"v2")]

    # -- batches -------------------------------------------------------------------------
    def test_get_many_keeps_order_and_marks_missing(self, store: KVStore) -> None:
        store.put_many([(b"a", b"1"), (b"c", b"3"), (b"\xff", b"")])
        keys = [b"c", b"missing", b"a", b"\xff", b"a", b"b"]
        assert store.get_many(keys) == [b"3", None, b"1", b"", b"1", None]
        assert store.get_many([]) == []

    def test_put_many_and_delete_many(self, store: KVStore) -> None:
        items = {bytes([i, j]): bytes([j]) * i for i in (0, 1, 255) for j in (0, 7, 255)}
        store.put_many(iter(items.items()))  # any iterable, not only lists
        assert _pairs(store) == _expected(items, b"", None)
        gone = [bytes([0, 0]), bytes([255, 255]), b"not-there"]
        store.delete_many(iter(gone))
        for k in gone:
            items.pop(k, None)
        assert _pairs(store) == _expected(items, b"", None)
        store.put_many([])
        store.delete_many([])
        assert _pairs(store) == _expected(items, b"", None)

    # -- scans ---------------------------------------------------------------------------
    def _fill_edges(self, store: KVStore) -> dict[bytes, bytes]:
        data = {k: b"v" + k for k in EDGE_KEYS}
        shuffled = list(data.items())
        random.Random(7).shuffle(shuffled)
        store.put_many(shuffled)
        return data

    def test_scan_orders_by_bytes_with_half_open_bounds(self, store: KVStore) -> None:
        data = self._fill_edges(store)
        assert _pairs(store) == _expected(data, b"", None)
        assert [k for k, _ in _pairs(store)] == sorted(EDGE_KEYS)
        for start, end in [
            (b"a", b"b"),  # start inclusive, end exclusive
            (b"a\x00", b"a\xff"),
            (b"\x00", b"\x00\xff"),
            (b"a\x01", b"ab"),
            (b"\xff", None),
            (b"b", None),
            (b"", b"a"),
        ]:
            assert _pairs(store, start, end) == _expected(data, start, end), (start, end)

    def test_scan_keys_only_gives_none_values(self, store: KVStore) -> None:
        data = self._fill_edges(store)
        got = list(store.scan(b"a", b"b", keys_only=True))
        assert got == [(k, None) for k, _ in _expected(data, b"a", b"b")]

    def test_scan_prefix_boundaries_with_0xff(self, store: KVStore) -> None:
        data = self._fill_edges(store)
        for prefix in (b"a\xff", b"a", b"\xff", b"\x00", b"\xff\xff"):
            end = prefix_end(prefix)
            want = [(k, v) for k, v in sorted(data.items()) if k.startswith(prefix)]
            assert _pairs(store, prefix, end) == want, prefix

    def test_scan_empty_ranges(self, store: KVStore) -> None:
        assert _pairs(store) == []
        self._fill_edges(store)
        assert _pairs(store, b"a", b"a") == []
        assert _pairs(store, b"b", b"a") == []  # start after end
        assert _pairs(store, b"a\xff\xff\x01", b"ab") == []  # nothing stored in between
        assert _pairs(store, b"\xff\xff\x00", None) == []

    def test_scan_many_keys_in_order(self, store: KVStore) -> None:
        data = {i.to_bytes(4, "big"): i.to_bytes(4, "little") for i in range(self.many_keys)}
        store.put_many(data.items())
        assert _pairs(store) == _expected(data, b"", None)
        mid = (self.many_keys // 3).to_bytes(4, "big")
        assert _pairs(store, mid) == _expected(data, mid, None)

    def test_scan_many_equals_individual_scans(self, store: KVStore) -> None:
        self._fill_edges(store)
        ranges = [
            (b"a", b"b"),
            (b"\x00", b"a"),
            (b"a", b"a"),
            (b"a\x01", b"a\xfe"),
            (b"a\xff", b"ab"),
            (b"\x00", b"\xff\xff\xff"),
            (b"zzz", b"\xff"),
        ]
        for keys_only in (False, True):
            want = [list(store.scan(s, e, keys_only=keys_only)) for s, e in ranges]
            assert store.scan_many(ranges, keys_only=keys_only) == want
        assert store.scan_many([]) == []

    def test_delete_range_removes_exactly_the_range(self, store: KVStore) -> None:
        data = self._fill_edges(store)
        for start, end in [
            (b"a", b"a\xff"),
            (b"a\xfe", b"a\xfe"),
            (b"zz", b"\xff"),
            (b"\xfe", None),
        ]:
            removed = _expected(data, start, end)
            assert store.delete_range(start, end) == len(removed), (start, end)
            for k, _ in removed:
                del data[k]
            assert _pairs(store) == _expected(data, b"", None)
        assert store.delete_range(b"") == len(data)
        assert _pairs(store) == []

    # -- compare and swap ----------------------------------------------------------------
    def test_change_marker_moves_with_every_write_and_only_then(self, store: KVStore) -> None:
        marker = store.change_marker()
        if marker is None:
            pytest.skip("backend has no change marker")
        store.put(b"a", b"1")

        def put_in(txn: Txn) -> None:
            txn.put(b"e", b"6")

        writes: list[Callable[[], object]] = [
            lambda: store.put(b"b", b"2"),
            lambda: store.put_many([(b"c", b"3"), (b"d", b"4")]),
            lambda: store.delete(b"b"),
            lambda: store.delete_many([b"c"]),
            lambda: store.delete_range(b"d", b"e"),
            lambda: store.compare_and_swap(b"a", b"1", b"5"),
            lambda: store.transact(put_in),
        ]
        seen = [store.change_marker()]
        for write in writes:
            before = store.change_marker()
            # reads leave it where it is
            store.get(b"a")
            store.get_many([b"a", b"z"])
            list(store.scan(b"", None))
            assert store.change_marker() == before
            write()
            seen.append(store.change_marker())
            assert seen[-1] != before
        assert len(set(seen)) == len(seen)

    def test_compare_and_swap(self, store: KVStore) -> None:
        assert store.compare_and_swap(b"k", None, b"one")  # absent -> create
        assert store.get(b"k") == b"one"
        assert not store.compare_and_swap(b"k", None, b"two")  # exists, expected absent
        assert not store.compare_and_swap(b"k", b"wrong", b"two")
        assert not store.compare_and_swap(b"k", b"", b"two")
        assert store.get(b"k") == b"one"  # failures change nothing
        assert store.compare_and_swap(b"k", b"one", b"two")
        assert store.get(b"k") == b"two"
        assert store.compare_and_swap(b"k", b"two", b"")  # empty value is a value
        assert store.get(b"k") == b""
        assert not store.compare_and_swap(b"k", b"two", None)
        assert store.compare_and_swap(b"k", b"", None)  # delete
        assert store.get(b"k") is None
        assert not store.compare_and_swap(b"k", b"", b"x")  # absent is not empty
        assert not store.compare_and_swap(b"missing", b"x", None)
        assert _pairs(store) == []

    # -- transactions --------------------------------------------------------------------
    def test_transact_reads_its_own_writes_and_returns_result(self, store: KVStore) -> None:
        store.put_many([(b"a", b"1"), (b"b", b"2"), (b"c", b"3")])

        def fn(txn: Txn) -> str:
            assert txn.get(b"a") == b"1"
            txn.put(b"a", b"10")
            txn.put(b"bb", b"")
            txn.delete(b"c")
            assert txn.get(b"a") == b"10"
            assert txn.get(b"c") is None
            assert txn.get_many([b"bb", b"c", b"b"]) == [b"", None, b"2"]
            assert list(txn.scan(b"a", None)) == [(b"a", b"10"), (b"b", b"2"), (b"bb", b"")]
            assert list(txn.scan(b"b", b"c", keys_only=True)) == [(b"b", None), (b"bb", None)]
            return "done"

        assert store.transact(fn) == "done"
        assert _pairs(store) == [(b"a", b"10"), (b"b", b"2"), (b"bb", b"")]

    def test_transact_exception_propagates_and_discards(self, store: KVStore) -> None:
        store.put(b"k", b"old")

        def fn(txn: Txn) -> None:
            txn.put(b"k", b"new")
            txn.put(b"other", b"x")
            txn.delete(b"k")
            raise _Boom

        with pytest.raises(_Boom):
            store.transact(fn)
        if store.supports_transactions:
            assert _pairs(store) == [(b"k", b"old")]

    def test_transact_writes_are_invisible_until_it_returns(self, store: KVStore) -> None:
        if not store.supports_transactions:
            pytest.skip("backend does not promise all-at-once visibility")
        store.put(b"a", b"old")
        seen: list[list[bytes | None]] = []

        def look() -> None:
            seen.append(store.get_many([b"a", b"b"]))

        def fn(txn: Txn) -> None:
            txn.put(b"a", b"new")
            txn.put(b"b", b"new")
            reader = threading.Thread(target=look)
            reader.start()
            reader.join()

        store.transact(fn)
        assert seen[-1] == [b"old", None]
        assert store.get_many([b"a", b"b"]) == [b"new", b"new"]

    def test_concurrent_transact_loses_no_increment(self, store: KVStore) -> None:
        keys = [b"count/a", b"count/b"]

        def increment(txn: Txn) -> None:
            for k, v in zip(keys, txn.get_many(keys), strict=True):
                txn.put(k, str(int(v or b"0") + 1).encode())

        errors: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in range(self.increments_per_thread):
                    store.transact(increment)
            except BaseException as e:  # reported by the assertion below
                errors.append(e)

        threads = [threading.Thread(target=worker) for _ in range(self.concurrent_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        total = str(self.concurrent_threads * self.increments_per_thread).encode()
        assert store.get_many(keys) == [total, total]

    # -- persistence ---------------------------------------------------------------------
    def test_data_survives_reopen(self, store: KVStore) -> None:
        if not store.persistent:
            pytest.skip("backend is not persistent")
        data = self._fill_edges(store)
        store.delete(b"ab")
        del data[b"ab"]
        store.close()
        again = self.reopen(store)
        self._opened.append(again)
        assert _pairs(again) == _expected(data, b"", None)
        assert again.spec() == store.spec()

    # -- the model -----------------------------------------------------------------------
    def test_behaves_like_a_sorted_dict(self) -> None:
        run_state_machine_as_test(
            make_model_machine(self.make_store),
            settings=settings(
                max_examples=self.max_examples,
                stateful_step_count=self.stateful_step_count,
                deadline=None,
            ),
        )
