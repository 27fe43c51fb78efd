"""Concurrent catalog updates: compare-and-swap loses nothing and admits one winner."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from voxhub.errors import Conflict, InvalidRequest, VersionLocked
from voxhub.storage import KVStore
from voxhub.versioning.catalog import Catalog

T = TypeVar("T")
THREADS = 8


def race(fns: list[Callable[[], T]]) -> list[T | Exception]:
    """Run ``fns`` in threads released together; return results or raised errors."""
    barrier = threading.Barrier(len(fns))

    def run(fn: Callable[[], T]) -> T | Exception:
        barrier.wait()
        try:
            return fn()
        except (Conflict, InvalidRequest) as e:
            return e

    with ThreadPoolExecutor(len(fns)) as pool:
        return list(pool.map(run, fns))


def committed_leaves(cat: Catalog, n: int) -> tuple[str, list[str]]:
    root = cat.create_repo().root
    cat.commit(root)
    leaves = [cat.branch(root, f"b{i}").uuid for i in range(n)]
    for leaf in leaves:
        cat.commit(leaf)
    return root, leaves


def test_parallel_newversions_of_distinct_nodes(store: KVStore) -> None:
    root, leaves = committed_leaves(Catalog(store), THREADS)
    # each thread has its own Catalog, as separate processes would
    results = race([lambda p=p: Catalog(store).newversion(p) for p in leaves])
    ids = [r.version_id for r in results if not isinstance(r, Exception)]
    assert len(set(ids)) == THREADS  # every version id allocated once
    cat = Catalog(store)
    for parent, child in zip(leaves, results, strict=True):
        assert not isinstance(child, Exception)
        assert cat.node(parent).children == (child.uuid,)
    assert len(cat.nodes(root)) == 1 + 2 * THREADS


def test_parallel_newversions_of_one_node_admit_one(store: KVStore) -> None:
    root, _ = committed_leaves(Catalog(store), 0)
    results = race([lambda: Catalog(store).newversion(root) for _ in range(THREADS)])
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, InvalidRequest) for r in results if r not in winners)
    cat = Catalog(store)
    assert cat.node(root).children == (winners[0].uuid,)
    assert [n.uuid for n in cat.nodes(root)] == [root, winners[0].uuid]  # no orphans


def test_parallel_log_appends_and_instances_lose_nothing(store: KVStore) -> None:
    cat = Catalog(store)
    root = cat.create_repo().root
    jobs: list[Callable[[], object]] = []
    for i in range(THREADS):
        jobs.append(lambda i=i: Catalog(store).append_repo_log(root, [f"line {i}"]))
        jobs.append(lambda i=i: Catalog(store).append_node_log(root, [f"node {i}"]))
        jobs.append(lambda i=i: Catalog(store).create_instance(root, f"inst{i}", "t", {}))
    assert not [r for r in race(jobs) if isinstance(r, Exception)]
    assert sorted(cat.repo(root).log) == sorted(f"line {i}" for i in range(THREADS))
    assert sorted(cat.node(root).log) == sorted(f"node {i}" for i in range(THREADS))
    instances = cat.instances(root)
    assert sorted(i.name for i in instances) == sorted(f"inst{i}" for i in range(THREADS))
    assert len({i.instance_id for i in instances}) == THREADS


def test_same_branch_name_from_two_threads_has_one_winner(store: KVStore) -> None:
    root, leaves = committed_leaves(Catalog(store), 2)
    results = race([lambda p=p: Catalog(store).branch(p, "same") for p in leaves])
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert len([r for r in results if isinstance(r, Conflict | InvalidRequest)]) == 1
    cat = Catalog(store)
    assert cat.branch_versions(root, "same")[0] == winners[0].uuid
    assert sum(len(cat.node(p).children) for p in leaves) == 1


def test_parallel_updates_of_one_instance_config(store: KVStore) -> None:
    cat = Catalog(store)
    root = cat.create_repo().root
    cat.create_instance(root, "img", "t", {"n": 0})

    def bump() -> object:
        return Catalog(store).update_instance_config(root, "img", lambda c: {"n": c["n"] + 1})

    assert not [r for r in race([bump] * THREADS) if isinstance(r, Exception)]
    assert cat.instance(root, "img").config == {"n": THREADS}


def test_commit_races_with_writes(store: KVStore) -> None:
    """A write either lands before the commit or is refused: never after it."""
    cat = Catalog(store)
    root = cat.create_repo().root
    cat.create_instance(root, "kv", "t", {})
    view = cat.view(root, "kv")
    keys = [f"k{i:02d}".encode() for i in range(40)]
    landed: list[bytes] = []

    def writer() -> object:
        for k in keys:
            try:
                view.put_many([(k, b"v")])
                landed.append(k)
            except Exception as e:
                return e
        return None

    def committer() -> object:
        return Catalog(store).commit(root)

    race([writer, committer])
    assert cat.node(root).locked
    assert [k for k, _ in view.scan(b"", None)] == landed
    assert landed == keys[: len(landed)]


def _append_and_commit(path: str, root: str, worker: int) -> None:
    """Runs in another process: log lines through CAS, then one worker commits."""
    from voxhub.storage.lmdb_store import LmdbStore

    store = LmdbStore(path)
    cat = Catalog(store)
    for i in range(20):
        cat.append_repo_log(root, [f"{worker}-{i}"])
    if worker == 0:
        cat.commit(root)
    store.close()


def test_other_processes_lose_no_log_line_and_their_commit_blocks_writes(tmp_path: object) -> None:
    import multiprocessing as mp

    from voxhub.storage.lmdb_store import LmdbStore

    store = LmdbStore(str(tmp_path))
    try:
        cat = Catalog(store)
        root = cat.create_repo().root
        cat.create_instance(root, "kv", "t", {})
        view = cat.view(root, "kv")
        view.put_many([(b"k", b"before")])
        ctx = mp.get_context("spawn")
        procs = [
            ctx.Process(target=_append_and_commit, args=(str(tmp_path), root, w)) for w in range(3)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0, 0, 0]
        assert sorted(cat.repo(root).log) == sorted(f"{w}-{i}" for w in range(3) for i in range(20))
        with pytest.raises(VersionLocked):
            view.put_many([(b"k", b"after")])
        assert view.get(b"k") == b"before"
    finally:
        store.close()
