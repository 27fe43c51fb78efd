"""S3Store against a real SeaweedFS: the conformance suite plus S3-specific behaviour."""

from __future__ import annotations

import pickle
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import obstore
import pytest

from voxhub.errors import Conflict, InvalidRequest, StorageError
from voxhub.storage import KVStore, open_store, s3_intent, s3_names, s3_store, s3_txn
from voxhub.storage.base import Txn
from voxhub.storage.s3_store import S3Store
from voxhub.testing.seaweed import SeaweedServer
from voxhub.testing.store import StoreTests

pytestmark = pytest.mark.s3


def _store(server: SeaweedServer, prefix: str | None = None, **kw: str) -> S3Store:
    return S3Store(
        server.bucket,
        prefix or f"t-{uuid.uuid4().hex}",
        endpoint=server.endpoint,
        access_key_id=kw.get("access_key_id", server.access_key),
        secret_access_key=kw.get("secret_access_key", server.secret_key),
    )


class TestS3Conformance(StoreTests):
    max_examples = 12
    stateful_step_count = 15
    concurrent_threads = 3
    increments_per_thread = 6

    @pytest.fixture(autouse=True)
    def _server(self, seaweed: SeaweedServer) -> None:
        self.server = seaweed

    def make_store(self) -> KVStore:
        return _store(self.server)

    def reopen(self, store: KVStore) -> KVStore:
        assert isinstance(store, S3Store)
        return _store(self.server, store.prefix)


@pytest.fixture
def store(seaweed: SeaweedServer) -> Iterator[S3Store]:
    s = _store(seaweed)
    yield s
    s.close()


def test_objects_are_hex_names_under_the_prefix(store: S3Store) -> None:
    store.put(b"\x00\xffA", b"v")
    names = [meta["path"] for chunk in obstore.list(store.objects) for meta in chunk]
    assert names == ["00ff41"]


def test_keys_with_0x00_and_0xff_scan_in_byte_order(store: S3Store) -> None:
    keys = [b"\xff", b"\x00", b"\x00\x00", b"\x00\xff", b"\x01", b"\xfe\xff", b"\xff\x00", b"a"]
    store.put_many((k, k) for k in keys)
    assert [k for k, _ in store.scan(b"")] == sorted(keys)
    # every start: the listing offset trick must neither skip nor repeat keys
    for start in sorted(keys):
        assert [k for k, _ in store.scan(start)] == [k for k in sorted(keys) if k >= start]


def test_transact_exception_writes_nothing(store: S3Store) -> None:
    store.put(b"k", b"old")

    def fn(txn: Txn) -> None:
        txn.put(b"k", b"new")
        txn.put(b"other", b"x")
        raise KeyError("boom")

    with pytest.raises(KeyError):
        store.transact(fn)
    assert list(store.scan(b"")) == [(b"k", b"old")]


def test_transact_reruns_when_a_read_key_changed(store: S3Store) -> None:
    store.put(b"n", b"1")
    runs: list[bytes | None] = []

    def fn(txn: Txn) -> None:
        seen = txn.get(b"n")
        runs.append(seen)
        if len(runs) == 1:
            store.put(b"n", b"5")  # another writer slips in before the commit
        txn.put(b"n", str(int(seen or b"0") + 1).encode())

    store.transact(fn)
    assert runs == [b"1", b"5"]
    assert store.get(b"n") == b"6"


def test_transact_gives_up_with_conflict(store: S3Store) -> None:
    def fn(txn: Txn) -> None:
        txn.get(b"hot")
        store.put(b"hot", uuid.uuid4().bytes)  # always changed before the commit
        txn.put(b"hot", b"mine")

    with pytest.raises(Conflict, match="kept conflicting"):
        store.transact(fn)


def test_threads_transact_on_one_key_lose_nothing(store: S3Store) -> None:
    def increment(txn: Txn) -> None:
        txn.put(b"c", str(int(txn.get(b"c") or b"0") + 1).encode())

    threads = [
        threading.Thread(target=lambda: [store.transact(increment) for _ in range(8)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get(b"c") == b"32"


def test_spec_round_trip_through_open_store(
    store: S3Store, seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put(b"k", b"v")
    spec = store.spec()
    assert seaweed.secret_key not in spec
    assert spec.startswith(f"s3://{seaweed.bucket}/{store.prefix}?")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    again = open_store(spec)
    assert isinstance(again, S3Store)
    assert again.spec() == spec
    assert again.get(b"k") == b"v"


def test_from_url_takes_credentials_from_the_query(seaweed: SeaweedServer) -> None:
    query = {
        "endpoint": seaweed.endpoint,
        "access_key_id": seaweed.access_key,
        "secret_access_key": seaweed.secret_key,
    }
    s = S3Store.from_url(seaweed.bucket, "from-url", query)
    s.put(b"x", b"1")
    assert s.get(b"x") == b"1"
    with pytest.raises(InvalidRequest, match="unknown"):
        S3Store.from_url(seaweed.bucket, "p", {"endpiont": "typo"})


def test_pickle_round_trip(store: S3Store) -> None:
    store.put(b"k", b"v")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.spec() == store.spec()
    assert clone.get(b"k") == b"v"


def test_wrong_secret_is_a_storage_error(seaweed: SeaweedServer) -> None:
    bad = _store(seaweed, secret_access_key="not-the-secret")
    with pytest.raises(StorageError, match="S3 store"):
        bad.get(b"k")
    with pytest.raises(StorageError):
        bad.put(b"k", b"v")


def test_empty_key_is_invalid(store: S3Store) -> None:
    with pytest.raises(InvalidRequest):
        store.put(b"", b"v")
    with pytest.raises(InvalidRequest):
        store.put_many([(b"ok", b"v"), (b"", b"v")])
    assert store.get(b"ok") is None  # the bad batch wrote nothing


def _plant_lock(store: S3Store, key: bytes, txn_id: str, expires: float) -> None:
    body = s3_intent.encode_lock(s3_intent.Lock(txn_id, expires))
    obstore.put(store.objects, s3_names.lock_name(key), body)


def _names(store: S3Store) -> list[str]:
    return [m["path"] for chunk in obstore.list(store.objects) for m in chunk]


def test_expired_lock_of_a_dead_writer_is_taken_over(store: S3Store) -> None:
    _plant_lock(store, b"k", "crashed", expires=time.time() - 1)  # died before committing
    assert list(store.scan(b"")) == []  # a lock is not a key
    store.transact(lambda txn: txn.put(b"k", b"v"))
    assert store.get(b"k") == b"v"
    # the dead writer can never commit now: its intent name is taken by "aborted"
    body = obstore.get(store.objects, s3_names.intent_name("crashed")).bytes()
    assert not s3_intent.decode_intent(bytes(body)).committed
    assert _names(store) == ["6b", "~txn/crashed"]


def test_live_lock_blocks_only_its_key(store: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_txn, "LOCK_WAIT_S", 0.3)
    _plant_lock(store, b"a", "slow-writer", expires=time.time() + 60)
    store.transact(lambda txn: txn.put(b"b", b"v"))  # a disjoint key: no waiting
    assert store.get(b"b") == b"v"
    with pytest.raises(Conflict, match="stayed locked"):
        store.transact(lambda txn: txn.put(b"a", b"v"))
    assert store.get(b"a") is None
    assert store.transact(lambda txn: txn.get(b"a")) is None  # read-only needs no lock


def _plant_committed(store: S3Store, txn_id: str, writes: dict[bytes, bytes]) -> None:
    """What a writer killed right after its commit point leaves: locks and the intent."""
    record = s3_intent.Intent(
        "committed",
        time.time(),
        [s3_intent.Write(k, store.etag_of(k), v) for k, v in writes.items()],
        sorted(writes),
    )
    for key in writes:
        _plant_lock(store, key, txn_id, time.time() + 60)
    obstore.put(store.objects, s3_names.intent_name(txn_id), s3_intent.encode_intent(record))


def test_committed_intent_is_finished_on_open(store: S3Store, seaweed: SeaweedServer) -> None:
    store.put(b"a", b"old")
    _plant_committed(store, "t1", {b"a": b"new", b"b": b"new"})
    again = _store(seaweed, store.prefix)
    assert again.get_many([b"a", b"b"]) == [b"new", b"new"]  # a point read, after recovery
    assert _names(again) == ["61", "62"]


def test_listing_finishes_a_committed_intent_it_meets(store: S3Store) -> None:
    store.get(b"warm")  # this store already did its open-time recovery
    store.put(b"a", b"old")
    _plant_committed(store, "t2", {b"a": b"new", b"b": b"new"})
    assert list(store.scan(b"")) == [(b"a", b"new"), (b"b", b"new")]
    assert _names(store) == ["61", "62"]


def test_transaction_meeting_a_committed_intent_finishes_it_first(store: S3Store) -> None:
    store.get(b"warm")
    store.put(b"n", b"1")
    _plant_committed(store, "t3", {b"n": b"5"})

    def increment(txn: Txn) -> None:
        txn.put(b"n", str(int(txn.get(b"n") or b"0") + 1).encode())

    store.transact(increment)  # first run reads 1, meets the lock, sees 5 after finishing
    assert store.get(b"n") == b"6"


def test_readers_never_see_half_a_commit(store: S3Store) -> None:
    keys = [b"p", b"q", b"r"]
    store.put_many((k, b"0") for k in keys)
    torn: list[list[tuple[bytes, bytes | None]]] = []
    done = threading.Event()

    def writer() -> None:
        for i in range(1, 16):
            store.transact(lambda txn, i=i: [txn.put(k, b"%d" % i) for k in keys])
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    while not done.is_set() or reads < 5:
        seen = list(store.scan(b"p", b"s"))
        reads += 1
        if len({v for _, v in seen}) != 1 or len(seen) != 3:
            torn.append(seen)
    thread.join()
    assert torn == []
    assert [v for _, v in store.scan(b"p", b"s")] == [b"15"] * 3


def test_fan_out_from_pool_threads_cannot_starve_the_pool() -> None:
    # lock_one (run on the store's pool) helps a committed transaction by applying its
    # writes, itself a fan-out over the pool: with every pool thread doing that, the
    # inner tasks waited behind them for ever (a hang seen in test_counter_races[s3])
    store = S3Store(
        "no-requests-made", endpoint="http://127.0.0.1:9", access_key_id="k", secret_access_key="s"
    )
    outer = range(4 * s3_store.MAX_PARALLEL_REQUESTS)
    done: list[list[list[int]]] = []
    worker = threading.Thread(
        target=lambda: done.append(
            store._parallel(lambda i: store._parallel(lambda j: j, [i, i]), outer)
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)  # a deadlock never ends; the fan-out takes milliseconds
    assert done == [[[i, i] for i in outer]]
    store.close()


def test_seaweed_starts_again_on_other_ports_when_one_was_taken(
    tmp_path: Path, seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (``seaweed``: the session's server, so weed is known to be installed here)
    import socket

    from voxhub.testing import seaweed as launcher

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    picks: list[list[int]] = []
    fresh = launcher._free_ports

    def first_one_taken(count: int) -> list[int]:
        ports = fresh(count)
        if not picks:
            ports[launcher._PORT_FLAGS.index("master.port")] = taken.getsockname()[1]
        picks.append(ports)
        return ports

    monkeypatch.setattr(launcher, "_free_ports", first_one_taken)
    try:
        server = launcher.SeaweedServer(tmp_path / "weed")
        try:
            assert len(picks) == 2  # the first start failed on the taken port
            store = server.open_store()
            store.put(b"k", b"v")
            assert store.get(b"k") == b"v"
        finally:
            server.stop()
    finally:
        taken.close()
