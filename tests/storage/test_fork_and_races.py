"""Process and thread hazards of the storage and block layers: fork, concurrent reopen."""

from __future__ import annotations

import multiprocessing as mp
import threading
from pathlib import Path

import pytest

from voxhub.blocks import pool
from voxhub.storage import lmdb_env
from voxhub.storage.lmdb_store import LmdbStore

FORK = mp.get_context("fork")


def _double_in_pool() -> None:
    assert pool.parallel_map(lambda x: 2 * x, list(range(32))) == [2 * x for x in range(32)]


def test_block_pool_works_in_a_forked_child() -> None:
    _double_in_pool()  # the parent's pool has started its threads
    child = FORK.Process(target=_double_in_pool)
    child.start()
    child.join(timeout=120)  # without the at-fork reset the child waits forever
    if child.exitcode is None:
        child.kill()
        child.join()
    assert child.exitcode == 0


def test_reopen_while_the_last_user_is_releasing(tmp_path: Path) -> None:
    """A reopen racing the last close gets a working store, never 'already open'."""
    path = str(tmp_path.resolve())
    store = LmdbStore(path)
    store.put(b"k", b"v")
    env = lmdb_env.open_env(path, 1 << 20, False)  # the store's shared environment
    env.release()  # (one user again: the store)
    reading, finish = threading.Event(), threading.Event()

    def long_read() -> None:  # an in-flight read keeps the environment open
        def wait(_txn: object) -> None:
            reading.set()
            finish.wait()

        env.read(wait)

    reader = threading.Thread(target=long_read)
    reader.start()
    reading.wait()
    closer = threading.Thread(target=store.close)  # waits for the read to end
    closer.start()
    while lmdb_env._registry.get(path) is env:  # until close took it out of the registry
        pass
    reopened: list[LmdbStore] = []
    errors: list[BaseException] = []

    def reopen() -> None:
        try:
            reopened.append(LmdbStore(path))
        except BaseException as e:  # reported below
            errors.append(e)

    opener = threading.Thread(target=reopen)
    opener.start()
    finish.set()
    for t in (reader, closer, opener):
        t.join()
    assert not errors, errors
    assert reopened[0].get(b"k") == b"v"
    reopened[0].close()


@pytest.mark.s3
def test_s3_request_pool_is_created_once_under_races(
    seaweed: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from voxhub.storage import s3_store
    from voxhub.testing.seaweed import SeaweedServer

    assert isinstance(seaweed, SeaweedServer)
    store = s3_store.S3Store(
        seaweed.bucket,
        "pool-race",
        endpoint=seaweed.endpoint,
        access_key_id=seaweed.access_key,
        secret_access_key=seaweed.secret_key,
    )
    created: list[ThreadPoolExecutor] = []
    second_created = threading.Event()
    racer: list[threading.Thread] = []

    def counting_pool(*args: object, **kw: object) -> ThreadPoolExecutor:
        created.append(ThreadPoolExecutor(2))
        if len(created) == 1:  # while the first pool is being made, a second thread asks
            racer.append(threading.Thread(target=store.get_many, args=([b"a", b"b"],)))
            racer[0].start()
            second_created.wait(timeout=0.5)  # happens at once without the lock
        else:
            second_created.set()
        return created[-1]

    monkeypatch.setattr(s3_store, "ThreadPoolExecutor", counting_pool)
    assert store.get_many([b"x", b"y"]) == [None, None]
    racer[0].join()
    assert len(created) == 1
    store.close()
    for p in created:
        p.shutdown()
