"""``TimedStore`` is transparent (it passes the conformance suite around LMDB) and reports
every operation it passes on, failed ones and abandoned scans included."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence

import pytest

from voxhub.storage import KVStore, MemoryStore, Txn
from voxhub.storage.lmdb_store import LmdbStore
from voxhub.storage.timed import TimedStore, backend_name
from voxhub.testing.store import StoreTests


class TestTimedLmdbStore(StoreTests):
    max_examples = 20

    def make_store(self) -> KVStore:
        return TimedStore(LmdbStore(tempfile.mkdtemp(dir=self.workdir)), lambda op, s: None)


def timed() -> tuple[TimedStore, list[tuple[str, float]]]:
    seen: list[tuple[str, float]] = []
    return TimedStore(MemoryStore(), lambda op, s: seen.append((op, s))), seen


def test_each_operation_is_reported_once_by_name() -> None:
    store, seen = timed()
    store.put(b"a", b"1")
    store.put_many([(b"b", b"2"), (b"c", b"3")])
    assert store.get(b"a") == b"1"
    assert store.get_many([b"a", b"z"]) == [b"1", None]
    assert store.pick_values([(b"a", b"c")], lambda keys: next(keys)) == [b"1"]
    assert store.scan_many([(b"a", b"z")], keys_only=True) == [[(b"a", None), (b"b", None),
                                                                 (b"c", None)]]  # fmt: skip
    assert store.same_values([(b"a", b"b")]) == [False]
    assert store.compare_and_swap(b"a", b"1", b"9")
    assert store.transact(lambda txn: txn.get(b"a")) == b"9"
    store.delete(b"a")
    store.delete_many([b"b"])
    assert store.delete_range(b"", None) == 1
    assert [op for op, _ in seen] == [
        "put", "put_many", "get", "get_many", "pick_values", "scan_many", "same_values",
        "compare_and_swap", "transact", "delete", "delete_many", "delete_range",
    ]  # fmt: skip
    assert all(s >= 0 for _, s in seen)


def test_every_store_method_is_passed_on() -> None:
    # a method left to KVStore's default would bypass the wrapped backend's fast path
    public = {name for name in vars(KVStore) if not name.startswith("_")}
    missing = {name for name in public if name not in vars(TimedStore)}
    assert missing == {
        "supports_transactions",
        "supports_multiprocess",
        "low_latency_reads",
        "persistent",
    }  # fmt: skip  (set per instance in __init__)


def test_picked_values_are_timed_without_the_caller_s_work() -> None:
    store, seen = timed()
    store.put(b"a", b"1")
    seen.clear()
    spent = []

    def use(values: Sequence[bytes | memoryview | None]) -> list[bytes]:
        began = time.perf_counter()
        while time.perf_counter() - began < 0.05:  # the caller decoding for a while
            pass
        spent.append(time.perf_counter() - began)
        return [bytes(v) for v in values if v is not None]

    assert store.with_picked_values([(b"a", b"b")], lambda keys: next(keys), use) == [b"1"]
    assert [op for op, _ in seen] == ["pick_values"]
    assert 0 <= seen[0][1] < spent[0]


def test_a_failed_operation_is_reported_and_raises() -> None:
    store, seen = timed()

    def boom(txn: Txn) -> None:
        txn.put(b"k", b"v")
        raise KeyError("boom")

    with pytest.raises(KeyError):
        store.transact(boom)
    assert seen == [("transact", seen[0][1])]
    assert store.inner.get(b"k") is None


def test_a_scan_is_reported_when_exhausted_or_abandoned() -> None:
    store, seen = timed()
    store.put_many([(bytes([i]), b"") for i in range(5)])
    seen.clear()
    assert len(list(store.scan(b""))) == 5
    assert [op for op, _ in seen] == ["scan"]
    items = store.scan(b"")
    next(items)
    items.close()  # what a consumer that stops early does (or the garbage collector)
    assert [op for op, _ in seen] == ["scan", "scan"]


def test_capabilities_and_spec_are_the_wrapped_store_s() -> None:
    memory = TimedStore(MemoryStore(), lambda op, s: None)
    assert (memory.supports_transactions, memory.low_latency_reads) == (
        MemoryStore.supports_transactions,
        MemoryStore.low_latency_reads,
    )
    assert memory.spec() == "memory://"
    assert backend_name(memory) == "memory"


def test_backend_names() -> None:
    class Odd(MemoryStore):
        def spec(self) -> str:
            raise NotImplementedError

    assert backend_name(Odd()) == "odd"
    assert backend_name(MemoryStore()) == "memory"
