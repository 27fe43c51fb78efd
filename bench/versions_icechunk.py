"""Icechunk's side of ``bench.versions`` (run in its own Python ≥ 3.12 venv, prints JSON).

Same data and edit plan as voxhub's side: the 512³ EM volume as one zarr v3 array
(64³ chunks, zstd level 1) in an Icechunk repository on the local filesystem, then one
commit per edit, each rewriting one chunk. Run by ``bench.versions``::

    bench/work/icechunk-venv/bin/python -m bench.versions_icechunk EM.npy PLAN.npz WORKDIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import icechunk
import numpy as np
import zarr

from bench.versions_common import (
    BLOCK,
    apply_plan,
    block_slices,
    du,
    interleaved,
    load_plan,
    p50,
    timed,
)

Result = dict[str, Any]


def _repo(path: Path) -> icechunk.Repository:
    return icechunk.Repository.create(icechunk.local_filesystem_storage(str(path)))


def _array(session: icechunk.Session, name: str) -> zarr.Array:
    return zarr.open_array(session.store, path=name)


def chain(em: np.ndarray, coords: np.ndarray, blocks: np.ndarray, path: Path, shots: int) -> Result:
    res: Result = {}
    repo = _repo(path)
    session = repo.writable_session("main")

    def write_all() -> None:
        arr = zarr.create_array(
            session.store,
            name="em",
            shape=em.shape,
            chunks=(BLOCK,) * 3,
            dtype="uint8",
            fill_value=0,
            compressors=zarr.codecs.ZstdCodec(level=1),
        )
        arr[:] = em

    res["write_s"] = timed(write_all)
    first = session.commit("the whole volume")
    sessions, writes, commits = [], [], []
    for i, (coord, block) in enumerate(zip(coords, blocks, strict=True)):
        t0 = time.perf_counter()
        session = repo.writable_session("main")
        arr = _array(session, "em")
        t1 = time.perf_counter()
        arr[block_slices(coord)] = block
        t2 = time.perf_counter()
        leaf = session.commit(f"edit {i}")
        t3 = time.perf_counter()
        sessions.append(t1 - t0)
        writes.append(t2 - t1)
        commits.append(t3 - t2)
    res["newversion_ms"] = [t * 1e3 for t in sessions]
    res["block_write_ms"] = [t * 1e3 for t in writes]
    res["commit_ms"] = [t * 1e3 for t in commits]
    root_arr = _array(repo.readonly_session(snapshot_id=first), "em")
    leaf_arr = _array(repo.readonly_session(snapshot_id=leaf), "em")
    assert np.array_equal(leaf_arr[:], apply_plan(em, coords, blocks)), "leaf read wrong"
    assert np.array_equal(root_arr[:], em), "root read wrong"
    reads = interleaved(shots, {"root": lambda: root_arr[:], "leaf": lambda: leaf_arr[:]})
    res["root_read_s"], res["leaf_read_s"] = reads["root"], reads["leaf"]
    res["diff_ms"] = [
        timed(lambda: repo.diff(from_snapshot_id=first, to_snapshot_id=leaf)) * 1e3
        for _ in range(20)
    ]
    res["branch_ms"] = [
        timed(lambda i=i: repo.create_branch(f"b{i}", leaf)) * 1e3 for i in range(20)
    ]
    res.update(rebases(repo, leaf, em.shape[0] // BLOCK))
    res["stored_bytes"] = du(path)
    return res


def rebases(repo: icechunk.Repository, leaf: str, per_axis: int, rounds: int = 5) -> Result:
    """Icechunk has no merge of branches; its conflict check is the rebase of a session
    whose branch moved: two sessions from one snapshot, the first commits, the second
    (editing a different chunk, or the same chunk) rebases with ``ConflictDetector``."""
    clean, refused = [], []
    for r in range(rounds):
        k = r % per_axis
        for same, times in ((False, clean), (True, refused)):
            name = f"rebase-{r}-{int(same)}"
            repo.create_branch(name, leaf)
            s1, s2 = repo.writable_session(name), repo.writable_session(name)
            _array(s1, "em")[block_slices((k, 0, 0))] = 1
            s1.commit("first")
            _array(s2, "em")[block_slices((k, 0, 0) if same else (k, 1, 1))] = 2
            t0 = time.perf_counter()
            try:
                s2.rebase(icechunk.ConflictDetector())
            except icechunk.RebaseFailedError:
                assert same, "a rebase onto an edit of another chunk failed"
            else:
                assert not same, "a rebase onto an edit of the same chunk succeeded"
            times.append((time.perf_counter() - t0) * 1e3)
    return {"rebase_ms": clean, "rebase_conflict_ms": refused}


def block_versions(em: np.ndarray, path: Path, versions: int, reads: int) -> Result:
    repo = _repo(path)
    session = repo.writable_session("main")
    arr = zarr.create_array(
        session.store,
        name="blk",
        shape=(BLOCK, BLOCK, 3 * BLOCK),
        chunks=(BLOCK,) * 3,
        dtype="uint8",
        fill_value=0,
        compressors=zarr.codecs.ZstdCodec(level=1),
    )
    c = em.shape[0] // 2
    tissue = em[c : c + BLOCK, c : c + BLOCK, c : c + BLOCK]
    arr[:] = np.concatenate([tissue] * 3, axis=2)
    session.commit("three blocks")
    mid = min(100, versions - 1)
    t0 = time.perf_counter()
    for v in range(1, versions):
        session = repo.writable_session("main")
        edit = _array(session, "blk")
        edit[:, :, 2 * BLOCK : 3 * BLOCK] = tissue ^ np.uint8(v & 0xFF)
        if v < mid:
            edit[:, :, BLOCK : 2 * BLOCK] = tissue ^ np.uint8(v & 0xFF)
        session.commit(f"v{v}")
    build_s = time.perf_counter() - t0
    leaf = _array(repo.readonly_session("main"), "blk")
    slabs = {n: slice(i * BLOCK, (i + 1) * BLOCK) for i, n in enumerate((1, mid, versions))}
    times: dict[int, list[float]] = {n: [] for n in slabs}
    for _ in range(reads):
        for n, sl in slabs.items():
            times[n].append(timed(lambda sl=sl: leaf[:, :, sl]) * 1e3)
    return {
        "versions": [1, mid, versions],
        "build_s": build_s,
        "read_p50_ms": {str(n): p50(t) for n, t in times.items()},
    }


def open_repo(path: Path, count: int = 5) -> float:
    """Seconds to open the repository and find the snapshot ``main`` points at (p50)."""

    def run() -> None:
        repo = icechunk.Repository.open(icechunk.local_filesystem_storage(str(path)))
        repo.lookup_branch("main")

    return p50([timed(run) for _ in range(count)])


def many_commits(path: Path, target: int, budget_s: float) -> Result:
    """A repository with up to ``target`` snapshots (empty commits), then its open time."""
    repo = _repo(path)
    t0 = time.perf_counter()
    made = 1
    while made < target and time.perf_counter() - t0 < budget_s:
        repo.writable_session("main").commit(f"{made}", allow_empty=True)
        made += 1
    return {"nodes": made, "build_s": time.perf_counter() - t0, "open_s": open_repo(path)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("em", type=Path)
    parser.add_argument("plan", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--block-versions", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--open-nodes", type=int, default=0)
    parser.add_argument("--open-budget", type=float, default=120.0)
    args = parser.parse_args()
    em = np.load(args.em)
    coords, blocks = load_plan(args.plan)
    res: Result = {"icechunk": icechunk.__version__, "zarr": zarr.__version__}
    res["chain"] = chain(em, coords, blocks, args.workdir / "chain", args.shots)
    res["open_chain_s"] = open_repo(args.workdir / "chain")
    if args.block_versions:
        res["block_versions"] = block_versions(
            em, args.workdir / "per-block", args.block_versions, args.reads
        )
    if args.open_nodes:
        res["many"] = many_commits(args.workdir / "many", args.open_nodes, args.open_budget)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
