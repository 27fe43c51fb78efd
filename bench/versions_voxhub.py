"""voxhub's side of ``bench.versions``: history costs through the public API, on LMDB.

Everything goes through ``voxhub.open(path)`` → repo → nodes → volume, on an LMDB store
with its default durability (every commit fsync'ed). See ``bench/README.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import voxhub
from bench.versions_common import (
    BLOCK,
    apply_plan,
    block_slices,
    du,
    interleaved,
    p50,
    timed,
)
from voxhub import Box, Node
from voxhub.errors import MergeConflict

Result = dict[str, Any]


def chain(em: np.ndarray, coords: np.ndarray, blocks: np.ndarray, path: Path, shots: int) -> Result:
    """The 50-version chain: per-step costs, depth-50 vs root reads, diff, merges."""
    res: Result = {}
    hub = voxhub.open(str(path))
    repo = hub.create_repo("versions")
    root = repo.master
    vol = root.create_volume("em", "uint8")
    res["write_s"] = timed(lambda: vol.write((0, 0, 0), em))
    root.commit("the whole volume")
    news, writes, commits = [], [], []
    node = root
    for coord, block in zip(coords, blocks, strict=True):
        t0 = time.perf_counter()
        node = node.newversion()
        t1 = time.perf_counter()
        node.volume("em")[block_slices(coord)] = block
        t2 = time.perf_counter()
        node.commit()
        t3 = time.perf_counter()
        news.append(t1 - t0)
        writes.append(t2 - t1)
        commits.append(t3 - t2)
    leaf = node
    res["newversion_ms"] = [t * 1e3 for t in news]
    res["block_write_ms"] = [t * 1e3 for t in writes]
    res["commit_ms"] = [t * 1e3 for t in commits]
    full = Box((0, 0, 0), em.shape)  # type: ignore[arg-type]
    root_vol, leaf_vol = root.volume("em"), leaf.volume("em")
    assert np.array_equal(leaf_vol.read(full), apply_plan(em, coords, blocks)), "leaf read wrong"
    assert np.array_equal(root_vol.read(full), em), "root read wrong"
    reads = interleaved(
        shots, {"root": lambda: root_vol.read(full), "leaf": lambda: leaf_vol.read(full)}
    )
    res["root_read_s"], res["leaf_read_s"] = reads["root"], reads["leaf"]
    changed = root.diff(leaf, "em")
    res["diff_keys"] = len(changed)
    expected = {tuple(int(v) for v in c) for c in coords}
    assert len(changed) >= len(expected), f"diff found {len(changed)} keys, {len(expected)} edited"
    res["diff_ms"] = [timed(lambda: root.diff(leaf, "em")) * 1e3 for _ in range(20)]
    res["branch_ms"] = [timed(lambda i=i: leaf.branch(f"b{i}")) * 1e3 for i in range(20)]
    res.update(merges(repo, leaf, em.shape[0] // BLOCK))
    hub.close()
    res["stored_bytes"] = du(path)
    res["open_s"] = p50([open_in_fresh_process(path, "versions") for _ in range(3)])
    return res


def _edited_branch(leaf: Node, name: str, coord: tuple[int, int, int], fill: int) -> Node:
    node = leaf.branch(name)
    node.volume("em")[block_slices(coord)] = np.full((BLOCK,) * 3, fill, np.uint8)
    return node.commit()


def merges(repo: voxhub.Repo, leaf: Node, per_axis: int, rounds: int = 5) -> Result:
    """Clean merges of two branches editing different blocks, and refused merges of two
    branches editing the same block differently (the refusal comes right after the
    conflict check, so its time is the check's, plus the call's own overhead)."""
    clean, refused = [], []
    for r in range(rounds):
        k = r % per_axis
        a = _edited_branch(leaf, f"merge-a{r}", (k, 0, 0), 1)
        b = _edited_branch(leaf, f"merge-b{r}", (k, 1, 1), 2)
        clean.append(timed(lambda a=a, b=b: repo.merge(a, b).commit()) * 1e3)
        c = _edited_branch(leaf, f"conflict-a{r}", (k, 2, 2), 3)
        d = _edited_branch(leaf, f"conflict-b{r}", (k, 2, 2), 4)
        t0 = time.perf_counter()
        try:
            repo.merge(c, d)
        except MergeConflict:
            refused.append((time.perf_counter() - t0) * 1e3)
        else:
            raise AssertionError("a merge of two different edits of one block was not refused")
    return {"merge_ms": clean, "conflict_check_ms": refused}


def block_versions(em: np.ndarray, path: Path, versions: int, reads: int) -> Result:
    """One 64³ block stored in 1, min(100, versions) and ``versions`` versions, read at the
    leaf of a ``versions``-deep chain (so every read resolves through the same ancestry)."""
    hub = voxhub.open(str(path))
    node = hub.create_repo("per-block").master
    vol = node.create_volume("blk", "uint8")
    c = em.shape[0] // 2
    tissue = em[c : c + BLOCK, c : c + BLOCK, c : c + BLOCK]
    for i in range(3):  # blocks (0,0,0), (0,0,1), (0,0,2): 1, 100, all versions
        vol[0:BLOCK, 0:BLOCK, i * BLOCK : (i + 1) * BLOCK] = tissue
    node.commit()
    mid = min(100, versions - 1)
    t0 = time.perf_counter()
    for v in range(1, versions):
        node = node.newversion()
        edit = node.volume("blk")
        edit[0:BLOCK, 0:BLOCK, 2 * BLOCK : 3 * BLOCK] = tissue ^ np.uint8(v & 0xFF)
        if v < mid:
            edit[0:BLOCK, 0:BLOCK, BLOCK : 2 * BLOCK] = tissue ^ np.uint8(v & 0xFF)
        node.commit()
    build_s = time.perf_counter() - t0
    leaf = node.volume("blk")
    boxes = {
        n: Box((0, 0, i * BLOCK), (BLOCK, BLOCK, (i + 1) * BLOCK))
        for i, n in enumerate((1, mid, versions))
    }
    last = np.uint8((versions - 1) & 0xFF)
    assert np.array_equal(leaf.read(boxes[versions]), tissue ^ last)
    times: dict[int, list[float]] = {n: [] for n in boxes}
    for _ in range(reads):
        for n, box in boxes.items():
            times[n].append(timed(lambda box=box: leaf.read(box)) * 1e3)
    hub.close()
    return {
        "versions": [1, mid, versions],
        "build_s": build_s,
        "read_p50_ms": {str(n): p50(t) for n, t in times.items()},
    }


OPEN_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
import voxhub
import voxhub.client.embedded  # the code a store open needs, imported before the clock
t1 = time.perf_counter()
hub = voxhub.open(sys.argv[1])
master = hub.repo(sys.argv[2]).master
uuid = master.uuid
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_master_s": t2 - t1}))
"""


def open_in_fresh_process(path: Path, alias: str) -> float:
    """Seconds to open the store and find ``master`` of repo ``alias`` in a new process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-c", OPEN_SCRIPT, str(path), alias],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return float(json.loads(out.stdout)["open_master_s"])


def lookups(hub: voxhub.Hub, repo: voxhub.Repo, count: int = 20) -> Result:
    """Per-lookup costs at the current DAG size: ``uuid:master``, ``/api/repos/info``."""
    with warnings.catch_warnings():  # starlette's notice about its httpx-based client
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from voxhub.server.app import create_app

    root = repo.root
    res: Result = {
        "node_master_ms": p50(
            [timed(lambda: hub.node(f"{root}:master")) * 1e3 for _ in range(count)]
        ),
        "repo_master_ms": p50([timed(lambda: repo.master) * 1e3 for _ in range(count)]),
    }
    with TestClient(create_app(hub)) as client:  # type: ignore[arg-type]
        assert client.get("/api/repos/info").status_code == 200
        res["repos_info_ms"] = p50(
            [
                timed(lambda: client.get("/api/repos/info").raise_for_status()) * 1e3
                for _ in range(count)
            ]
        )
        res["http_master_ms"] = p50(
            [
                timed(lambda: client.get(f"/api/node/{root}:master/commit").status_code) * 1e3
                for _ in range(count)
            ]
        )
    return res


def many_nodes(
    workdir: Path, target: int, budget_s: float, writes: int = 10, at: int = 2000
) -> Result:
    """A repo with up to ``target`` version nodes (a chain, made through the API on tmpfs,
    where fsync is free, then copied to disk) and ``writes`` mutations per node (every
    10th node writes ``10 * writes`` 8³ blocks of a small volume in one request: the
    history an open must not replay): lookups at ``at`` nodes and at the end, and the time
    a fresh process takes to open the store and find ``master``."""
    shm = Path(os.environ.get("VOXHUB_BENCH_TMPFS", "/dev/shm")) / f"voxhub-many-{os.getpid()}"
    disk = workdir / "many"
    res: Result = {"writes_per_node": writes}
    try:
        hub = voxhub.open(str(shm))
        repo = hub.create_repo("many")
        node = repo.master
        strip = np.ones((8, 8, 80 * writes), np.uint8)
        if writes:
            marks = node.create_volume("marks", "uint8", block_shape=(8, 8, 8))
            # a block at each far corner first, so the strips below never grow the extents
            # (this measures opening; what growing extents cost is the chain's business)
            rows = target // 1000 + 1
            marks[0:8, 8 * rows : 8 * rows + 8, 0:8] = 1
            marks[0:8, 0:8, 100 * strip.shape[2] : 100 * strip.shape[2] + 8] = 1
        t0 = time.perf_counter()
        made = 1
        while made < target and time.perf_counter() - t0 < budget_s:
            if writes and made % 10 == 0:  # a new strip of blocks, 100 strips per row
                k = made // 10
                node.volume("marks").write((0, 8 * (k // 100), strip.shape[2] * (k % 100)), strip)
            node = node.commit().newversion()
            made += 1
            if made == at:
                res[f"lookups_at_{at}"] = lookups(hub, repo)
                res[f"build_s_to_{at}"] = time.perf_counter() - t0
        res["nodes"] = made
        res["build_s"] = time.perf_counter() - t0
        res["lookups_at_end"] = lookups(hub, repo)
        hub.close()
        shutil.copytree(shm, disk)
        res["open_master_s"] = [open_in_fresh_process(disk, "many") for _ in range(3)]
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    return res
