"""LmdbStore: the conformance suite plus growth, processes, threads, durability, pickling."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from voxhub.errors import InvalidRequest, ReadOnlyError, StorageError
from voxhub.storage import KVStore, open_store
from voxhub.storage.base import Txn
from voxhub.storage.lmdb_store import LmdbStore
from voxhub.testing.store import StoreTests

SPAWN = mp.get_context("spawn")
TINY_MAP = 64 << 10


class TestLmdbConformance(StoreTests):
    def make_store(self) -> KVStore:
        return LmdbStore(tempfile.mkdtemp(dir=self.workdir), map_size=TINY_MAP)


def _value(i: int, size: int = 50_000) -> bytes:
    return i.to_bytes(4, "big") * (size // 4)


# -- map growth ------------------------------------------------------------------------
def test_map_grows_for_every_kind_of_write(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path, map_size=TINY_MAP)
    for i in range(40):  # single puts: 2 MB
        store.put(b"p%04d" % i, _value(i))
    store.put_many((b"m%04d" % i, _value(i)) for i in range(100))  # one 5 MB batch

    def put_sixty(txn: Txn) -> None:
        for i in range(60):
            txn.put(b"t%04d" % i, _value(i))

    store.transact(put_sixty)  # one 3 MB transaction
    assert store.compare_and_swap(b"cas", None, _value(7, 3_000_000))
    assert store.map_size > 10 * 1024 * 1024
    assert store.get(b"p0039") == _value(39)
    assert store.get(b"m0099") == _value(99)
    assert store.get(b"t0059") == _value(59)
    assert len(list(store.scan(b"", keys_only=True))) == 201
    store.close()


def _hold_open_then_read(path: str, opened: mp.Queue[str], go: mp.Queue[str]) -> None:
    store = LmdbStore(path, map_size=TINY_MAP)
    store.get(b"warm")  # a read transaction with the small map
    opened.put("opened")
    go.get(timeout=60)
    values = store.get_many([b"k%04d" % i for i in range(100)])
    ok = all(v == _value(i) for i, v in enumerate(values))
    store.put(b"from-child", _value(1, 2_000_000))  # writing needs the grown map too
    opened.put("ok" if ok else f"bad: {[v is None for v in values]}")


def test_other_process_adopts_grown_map(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path, map_size=TINY_MAP)
    opened: mp.Queue[str] = SPAWN.Queue()
    go: mp.Queue[str] = SPAWN.Queue()
    child = SPAWN.Process(target=_hold_open_then_read, args=(str(tmp_path), opened, go))
    child.start()
    try:
        assert opened.get(timeout=60) == "opened"
        store.put_many((b"k%04d" % i, _value(i)) for i in range(100))  # 5 MB: grows the map
        marker = store.change_marker()
        go.put("go")
        assert opened.get(timeout=60) == "ok"
    finally:
        child.join(timeout=60)
    assert child.exitcode == 0
    assert store.get(b"from-child") == _value(1, 2_000_000)
    assert store.change_marker() != marker  # the other process's write moved it
    store.close()


def test_threads_write_and_read_while_the_map_grows(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path, map_size=TINY_MAP)
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            for i in range(30):
                store.put(b"w%d/%04d" % (t, i), _value(i, 20_000))
        except BaseException as e:
            errors.append(e)

    def reader() -> None:
        try:
            for _ in range(60):
                pairs = list(store.scan(b"w", b"x"))
                assert all(v == _value(int(k[-4:]), 20_000) for k, v in pairs)
                store.get_many([k for k, _ in pairs[:5]])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(list(store.scan(b"w", b"x", keys_only=True))) == 90
    assert store.map_size > TINY_MAP
    store.close()


# -- several processes -----------------------------------------------------------------
def _increment_many(path: str, times: int, start: threading.Barrier) -> None:
    store = LmdbStore(path, map_size=TINY_MAP)
    start.wait(timeout=60)  # all processes contend from the first increment on
    keys = [b"n/a", b"n/b"]

    def increment(txn: Txn) -> None:
        for k, v in zip(keys, txn.get_many(keys), strict=True):
            txn.put(k, str(int(v or b"0") + 1).encode())
        txn.put(b"pad/%d/%d" % (os.getpid(), int(txn.get(b"n/a") or b"0")), b"x" * 3000)

    for _ in range(times):
        store.transact(increment)
    store.close()


def test_processes_transact_without_losing_increments(tmp_path: Path) -> None:
    LmdbStore(tmp_path, map_size=TINY_MAP).close()
    start = SPAWN.Barrier(3)
    workers = [
        SPAWN.Process(target=_increment_many, args=(str(tmp_path), 40, start)) for _ in range(3)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    store = LmdbStore(tmp_path)
    assert store.get_many([b"n/a", b"n/b"]) == [b"120", b"120"]
    store.close()


def _write_and_vanish(path: str) -> None:
    store = LmdbStore(path)
    store.put(b"durable", b"yes")
    store.put_many([(b"batch/1", b"1"), (b"batch/2", b"2")])
    os._exit(0)  # no close(), no interpreter shutdown


def test_write_is_durable_when_the_call_returns(tmp_path: Path) -> None:
    child = SPAWN.Process(target=_write_and_vanish, args=(str(tmp_path),))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    store = LmdbStore(tmp_path)
    assert store.get_many([b"durable", b"batch/1", b"batch/2"]) == [b"yes", b"1", b"2"]
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_use_after_fork_is_refused(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    store.put(b"k", b"v")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report what using the inherited store does
        try:
            store.get(b"k")
            verdict = b"used"
        except StorageError:
            verdict = b"refused"
        os.write(write_end, verdict)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        assert pipe.read() == b"refused"
    os.waitpid(pid, 0)
    assert store.get(b"k") == b"v"  # the parent's store is unaffected
    store.close()


# -- modes, errors, pickling -----------------------------------------------------------
def test_readonly_store_refuses_writes(tmp_path: Path) -> None:
    LmdbStore(tmp_path).put(b"k", b"v")
    ro = LmdbStore(tmp_path, readonly=True)
    assert ro.get(b"k") == b"v"
    assert list(ro.scan(b"")) == [(b"k", b"v")]
    writes: list[Callable[[], object]] = [
        lambda: ro.put(b"k", b"x"),
        lambda: ro.put_many([(b"a", b"b")]),
        lambda: ro.delete(b"k"),
        lambda: ro.delete_many([b"k"]),
        lambda: ro.delete_range(b""),
        lambda: ro.compare_and_swap(b"k", b"v", b"x"),
        lambda: ro.transact(lambda txn: txn.get(b"k")),
    ]
    for write in writes:
        with pytest.raises(ReadOnlyError, match="read-only"):
            write()
    assert ro.get(b"k") == b"v"
    ro.close()


def test_readonly_open_of_missing_directory_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open"):
        LmdbStore(tmp_path / "absent", readonly=True)


def test_bad_keys_are_invalid_and_leave_nothing_behind(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    with pytest.raises(InvalidRequest, match="1-511 bytes"):
        store.put_many([(b"ok", b"1"), (b"x" * 600, b"2")])
    with pytest.raises(InvalidRequest):
        store.put(b"", b"v")
    assert list(store.scan(b"")) == []
    store.close()


def test_writing_to_the_store_inside_transact_is_refused(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    with pytest.raises(StorageError, match="through the txn"):
        store.transact(lambda txn: store.put(b"k", b"v"))
    assert store.transact(lambda txn: store.get(b"k")) is None  # reads are fine
    store.close()


def test_txn_is_unusable_after_transact(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    leaked = store.transact(lambda txn: txn)
    with pytest.raises(StorageError, match="after transact"):
        leaked.get(b"k")
    store.close()


def test_closed_store_raises_storage_error(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        store.get(b"k")


def test_pickle_reopens_by_path(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path, map_size=TINY_MAP)
    store.put(b"k", b"v")
    clone = pickle.loads(pickle.dumps(store))
    assert isinstance(clone, LmdbStore)
    assert clone.spec() == store.spec() == "lmdb://" + str(tmp_path.absolute())
    assert clone.get(b"k") == b"v"
    clone.put(b"k2", b"v2")
    assert store.get(b"k2") == b"v2"
    clone.close()
    store.close()


def test_open_store_by_url_and_by_path(tmp_path: Path) -> None:
    LmdbStore(tmp_path).put(b"k", b"v")
    for url in (f"lmdb://{tmp_path}", str(tmp_path)):
        store = open_store(url)
        assert isinstance(store, LmdbStore)
        assert store.get(b"k") == b"v"
        store.close()
