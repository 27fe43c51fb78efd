"""Export through a server: a remote node's sharded precomputed view, copied file by file.

A hub opened on a server URL cannot read the store, but the server serves the very files
an export writes (``/precomputed/{node}/{instance}[/supervoxels]/sharded/...``, built
there from the stored blocks). So the export fetches every shard of every scale the
``info`` declares (absent ones are 404s: no block written there) on a few connections
and writes them to the destination; then deletes the shard files an earlier export left
that this one did not write, and writes the ``info`` last (:mod:`.replace`).
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable

import numpy as np

from voxhub.codecs.sharded import ShardingSpec, parse_minishard_index, parse_shard_index
from voxhub.errors import NotFound
from voxhub.transfer.outputs import Output
from voxhub.transfer.progress import progress_bar
from voxhub.transfer.replace import drop_stale

#: shard files fetched at once
FETCHES = 4
#: the shard files of an export (from a server or a store): ``{scale key}/{hex}.shard``
SHARD_FILE = re.compile(r"[^/]+/[0-9a-f]+\.shard")


@runtime_checkable
class FileServer(Protocol):
    """What this needs of a remote hub."""

    def get_file(self, path: str) -> bytes | None: ...


def _chunks_in(spec: ShardingSpec, shard: bytes) -> int:
    """How many chunks a shard file holds (read from its indexes)."""
    index = parse_shard_index(spec, shard[: spec.index_bytes])
    count = 0
    for start, stop in index.tolist():
        if stop > start:
            count += len(parse_minishard_index(spec, shard[start:stop], len(shard)).ids)
    return count


def fetch_export(
    server: FileServer,
    node: str,
    instance: str,
    output: Output,
    *,
    supervoxels: bool,
    progress: bool,
) -> tuple[int, int, int, float]:
    """Copy the sharded view of ``instance`` at ``node`` (a UUID) to ``output``:
    ``(shards, blocks, bytes, seconds)``."""
    started, began = time.perf_counter(), time.time()
    prefix = f"/precomputed/{node}/{instance}{'/supervoxels' if supervoxels else ''}/sharded"
    raw_info = server.get_file(f"{prefix}/info")
    if raw_info is None:
        raise NotFound(f"the server has no sharded view {prefix}")
    info = json.loads(raw_info)
    # the view names the server's meshes and segment properties (served beside it); an
    # export holds the volume only, as an export from the store does
    for served_beside in ("mesh", "segment_properties"):
        info.pop(served_beside, None)
    names: list[tuple[ShardingSpec, str]] = []
    for scale in info["scales"]:
        spec = ShardingSpec.from_json(scale["sharding"])
        names += [(spec, f"{scale['key']}/{spec.shard_name(s)}") for s in range(spec.shards)]

    copied_names: set[str] = set()

    def copy(item: tuple[ShardingSpec, str]) -> tuple[int, int]:
        spec, name = item
        body = server.get_file(f"{prefix}/{name}")
        if body is None:
            return 0, 0
        output.write(name, [body])
        copied_names.add(name)
        return _chunks_in(spec, body), len(body)

    with progress_bar(len(names), f"export {instance}", progress, unit="shard") as bar:

        def one(item: tuple[ShardingSpec, str]) -> tuple[int, int]:
            done = copy(item)
            bar.update(1)
            return done

        with ThreadPoolExecutor(FETCHES, thread_name_prefix="voxhub-export") as pool:
            copied = np.array(list(pool.map(one, names)), np.int64).reshape(-1, 2)
    drop_stale(output, copied_names, SHARD_FILE, began=began)
    output.write("info", [json.dumps(info, indent=1).encode()])
    shards = int((copied[:, 1] > 0).sum())
    return shards, int(copied[:, 0].sum()), int(copied[:, 1].sum()), time.perf_counter() - started
