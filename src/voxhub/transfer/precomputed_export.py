"""Export an image or label instance, at any version, to a sharded neuroglancer
precomputed volume (``neuroglancer_uint64_sharded_v1``, every scale) in a folder or an
S3 bucket: what ``GET /precomputed/{node}/{instance}/sharded/...`` serves, written out.

The work is a list of block-aligned tasks, one per shard file (:class:`ShardTask`: an
aligned box of at most 512 blocks of one scale, built from those blocks alone and written
as one file), planned from one key scan of the stored blocks per scale (work follows what
is stored, never the extents' volume). Tasks run on a thread pool here; each is a plain
value and :func:`run_task` a function of (service, task), so a Dask cluster can run them
later. Label blocks are never decoded: a shard's stored compressed_segmentation streams
are decompressed, their tables mapped to bodies and concatenated
(:mod:`voxhub.datatypes.labelmap.precomputed_sharded`). The ``info`` is written last, so
a destination with an ``info`` holds a complete export; one being replaced loses its
``info`` first and, before the new one is written, the shard files the new export did not
write (:mod:`.replace`).
"""

from __future__ import annotations

import contextlib
import json
import mmap
import queue
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from voxhub.client import Node
from voxhub.codecs.sharded import compressed_morton
from voxhub.codecs.sharded.writer import Piece
from voxhub.datatypes.imageblk.config import ImageConfig, instance_config
from voxhub.datatypes.imageblk.precomputed import grid_bounds, scale_key
from voxhub.datatypes.imageblk.precomputed_sharded import (
    ScaleSharding,
    image_sharded_info,
    raw_shard,
    scale_sharding,
)
from voxhub.datatypes.imageblk.stored import stored_blocks
from voxhub.datatypes.labelmap.precomputed_sharded import (
    cseg_shard,
    labels_sharded_info,
    labels_sharding,
)
from voxhub.datatypes.registry import datatype_for
from voxhub.errors import Conflict, InvalidRequest
from voxhub.geometry import Box
from voxhub.service import Service
from voxhub.transfer import direct_writes
from voxhub.transfer.direct_writes import DirectWrites, Staging
from voxhub.transfer.outputs import DirectoryOutput, Output, open_output
from voxhub.transfer.precomputed_fetch import SHARD_FILE, FileServer, fetch_export
from voxhub.transfer.progress import progress_bar
from voxhub.transfer.replace import drop_stale
from voxhub.versioning.protocols import VersionedReader

#: export tasks run at once (each a shard: ≤ 512 blocks in memory)
WORKERS = 2

#: label data buffers of outputs other than folders (:func:`run_task`), kept for the next
#: tasks and exports (at most ``direct_writes.KEEP``)
_scratches: queue.SimpleQueue[bytearray] = queue.SimpleQueue()


@dataclass(frozen=True)
class ShardTask:
    """One shard file of an export: which instance, node and view, which shard of which
    scale, and how many stored blocks it holds."""

    node: str
    instance: str
    supervoxels: bool
    scale: int
    shard: int
    name: str  # the file, relative to the destination: {scale_key}/{shard}.shard
    blocks: int
    #: the chunk ids of its stored blocks (only these are read); ``None``: every block of
    #: the shard (an image whose background is not zero writes its absent blocks too)
    stored: tuple[int, ...] | None = None
    #: bytes of the file before its chunk data (the shard index)
    head: int = 0


@dataclass(frozen=True)
class ExportPlan:
    """An export's ``info`` and its tasks."""

    info: dict[str, Any]
    tasks: list[ShardTask]

    @property
    def blocks(self) -> int:
        return sum(t.blocks for t in self.tasks)


@dataclass(frozen=True)
class ExportResult:
    destination: str
    shards: int
    blocks: int
    bytes: int
    seconds: float


@dataclass(frozen=True)
class _Source:
    config: ImageConfig
    labels: bool
    reader: VersionedReader
    extents: list[Box | None]

    def sharding(self, extents: Box | None) -> ScaleSharding:
        """The sharding of a scale covering ``extents`` (the views' own)."""
        if self.labels:
            return labels_sharding(self.config, extents)
        return scale_sharding(self.config, extents)


def _source(service: Service, node: str, instance: str, supervoxels: bool) -> _Source:
    info = service.catalog.instance(node, instance)
    kind = datatype_for(info.typename).name
    if kind not in ("imageblk", "labelmap"):
        raise InvalidRequest(
            f"{instance!r} is a {info.typename} instance: only image and label volumes "
            "export to precomputed"
        )
    if supervoxels and kind != "labelmap":
        raise InvalidRequest(f"{instance!r} is an image: it has no supervoxels to export")
    labels = kind == "labelmap"
    opened = service.open_labels(node, info) if labels else service.open_image(node, info)
    config = instance_config(info)
    extents = [opened.extents(s) for s in range(config.max_scale + 1)]
    return _Source(config, labels, opened.view, extents)


def _shard_chunks(
    source: _Source, scale: int, sharding: ScaleSharding
) -> dict[int, tuple[int, ...] | None]:
    """The chunk ids of the stored blocks of each shard of ``scale`` holding any (``None``
    for each shard of the grid if absent blocks are not zero: all its blocks count)."""
    config = source.config
    bounds = grid_bounds(config, source.extents[scale])
    if source.extents[scale] is None:
        return {}
    shape = config.block_shape
    box = Box(
        tuple(bounds.start[i] // shape[i] for i in range(3)),  # type: ignore[arg-type]
        tuple(bounds.stop[i] // shape[i] for i in range(3)),  # type: ignore[arg-type]
    )
    if not source.labels and config.background != 0:
        return {s: None for s in sharding.shards() if len(sharding.shard_blocks(s)[0])}
    coords = np.array(list(stored_blocks(source.reader, scale, box)), np.int64).reshape(-1, 3)
    if not coords.size:
        return {}
    rel = (coords - np.array(sharding.origin))[:, ::-1]  # (z, y, x) -> [x, y, z]
    ids = compressed_morton(rel, sharding.bits)
    shards, _ = sharding.spec.locate(ids)
    out: dict[int, tuple[int, ...] | None] = {}
    order = np.argsort(shards, kind="stable")
    found, starts = np.unique(shards[order], return_index=True)
    for shard, part in zip(found.tolist(), np.split(ids[order], starts[1:]), strict=True):
        out[shard] = tuple(sorted(part.tolist()))
    return out


def plan_export(
    service: Service, node: str, instance: str, *, supervoxels: bool = False
) -> ExportPlan:
    """The ``info`` and shard tasks exporting ``instance`` at ``node`` (a UUID)."""
    source = _source(service, node, instance, supervoxels)
    if source.labels:
        info = labels_sharded_info(source.config, source.extents)
    else:
        info = image_sharded_info(source.config, source.extents)
    tasks = []
    for scale, extents in enumerate(source.extents):
        sharding = source.sharding(extents)
        key = scale_key(source.config, scale)
        for shard, stored in sorted(_shard_chunks(source, scale, sharding).items()):
            name = f"{key}/{sharding.spec.shard_name(shard)}"
            count = len(sharding.shard_blocks(shard)[0]) if stored is None else len(stored)
            task = ShardTask(
                node,
                instance,
                supervoxels,
                scale,
                shard,
                name,
                count,
                stored,
                sharding.spec.index_bytes,
            )
            tasks.append(task)
    return ExportPlan(info, tasks)


def build_task(
    service: Service,
    task: ShardTask,
    scratch: bytearray | mmap.mmap | None = None,
    reserve: int = 0,
) -> list[Piece] | None:
    """The parts of ``task``'s shard file (``None``: no block of it is stored now), from
    the blocks its plan found stored (one written since is left for the next export); with
    ``scratch``, label data may be a view of it from byte ``reserve`` on (see
    :func:`cseg_shard`)."""
    source = _source(service, task.node, task.instance, task.supervoxels)
    sharding = source.sharding(source.extents[task.scale])
    layout = source.config.layout(task.scale)
    if source.labels:
        return cseg_shard(
            source.reader,
            layout,
            sharding,
            task.shard,
            supervoxels=task.supervoxels,
            scratch=scratch,
            reserve=reserve,
            only=task.stored,
        )
    return raw_shard(source.reader, layout, sharding, task.shard, task.stored)


def run_task(service: Service, task: ShardTask, output: Output | DirectWrites) -> int:
    """Build ``task``'s shard and write it to ``output``; the bytes written. Label data
    is decompressed into a buffer kept for the next task, also of the next export (a
    fresh buffer's pages cost as much to fill as decompressing into them): with
    :class:`DirectWrites`, one of its staging buffers, after room for the shard index,
    so that the file is written from where it was built."""
    if isinstance(output, DirectWrites):
        return _run_staged(service, task, output)
    try:
        scratch = _scratches.get_nowait()
    except queue.Empty:
        scratch = bytearray()
    try:
        parts = build_task(service, task, scratch)
        if parts is None:
            return 0
        try:
            output.write(task.name, parts)
            return _nbytes(parts)
        finally:
            _release(parts)  # views of scratch: released so that it can grow next time
    finally:
        if _scratches.qsize() < direct_writes.KEEP:
            _scratches.put(scratch)


def _run_staged(service: Service, task: ShardTask, writes: DirectWrites) -> int:
    staging, handed = writes.buffer(), False
    try:
        parts = build_task(service, task, staging.map, task.head)
        if parts is None:
            return 0
        size = _nbytes(parts)
        try:
            data = parts[1] if len(parts) == 3 else None
            if data is not None and _views(data, staging) and len(parts[0]) == task.head:
                nbytes = data.nbytes
                _release(parts)  # the buffer grows if the minishard indexes need it
                staged = staging.place(parts[0], nbytes, parts[2])
            else:  # image shards, labels mapped to bodies: bytes of their own
                staged = staging.fill([bytes(p) if _views(p, staging) else p for p in parts])
        finally:
            _release(parts)
        writes.write_staged(task.name, staging, staged)
        handed = True  # the writer hands it back once written
        return size
    finally:
        if not handed:
            writes.release(staging)


def _views(part: Piece, staging: Staging) -> TypeGuard[memoryview]:
    """Whether ``part`` is a view of ``staging``'s buffer."""
    return isinstance(part, memoryview) and part.obj is staging.map


def _nbytes(parts: list[Piece]) -> int:
    return sum(p.nbytes if isinstance(p, memoryview) else len(p) for p in parts)


def _release(parts: list[Piece]) -> None:
    for part in parts:
        if isinstance(part, memoryview):
            part.release()


def _run_tasks(
    tasks: list[ShardTask],
    one: Callable[[ShardTask], int],
    workers: int,
    writes: DirectWrites | None,
) -> list[int]:
    """``one`` of each task on ``workers`` threads; with ``writes``, every file written
    before this returns (the first failure raised, after the tasks' own)."""
    try:
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="voxhub-export") as pool:
            sizes = list(pool.map(one, tasks))
    except BaseException:
        if writes is not None:
            with contextlib.suppress(Exception):  # the task's failure is the one to report
                writes.finish()
        raise
    if writes is not None:
        writes.finish()
    return sizes


def export_precomputed(
    node: Node,
    instance: str,
    destination: str,
    *,
    supervoxels: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    workers: int = WORKERS,
) -> ExportResult:
    """Export ``instance`` (an image or labelmap) at ``node`` to a sharded precomputed
    volume at ``destination`` (a folder, or ``s3://bucket/prefix?endpoint=...``), every
    scale; label volumes as body ids, or supervoxel ids with ``supervoxels``. From a
    hub on a store the shards are built here (:func:`plan_export`); from a hub on a
    server they are the server's sharded view, fetched (:mod:`.precomputed_fetch`). An existing
    export there (an ``info``) is replaced only with ``overwrite``
    (:class:`~voxhub.errors.Conflict` otherwise).

    >>> import voxhub, numpy as np, tempfile
    >>> hub = voxhub.open("memory://")
    >>> node = hub.create_repo("demo").master
    >>> node.create_labels("seg")[0:64, 0:64, 0:128] = 7
    >>> out = tempfile.mkdtemp() + "/seg"
    >>> export_precomputed(node, "seg", out, progress=False).blocks
    2
    """
    service = getattr(node.hub, "service", None)
    output = open_output(destination)
    if output.exists("info") and not overwrite:
        raise Conflict(
            f"{output.describe()} already holds a precomputed volume (an info); "
            "pass --overwrite (overwrite=True) to replace it"
        )
    if not isinstance(service, Service) and not isinstance(node.hub, FileServer):
        raise InvalidRequest(f"cannot export from {node.hub!r}: no store, no server")
    output.delete("info")  # an interrupted replacement must not pass for a whole export
    if not isinstance(service, Service):  # a server's hub: copy its sharded view
        assert isinstance(node.hub, FileServer)
        shards, blocks, size, seconds = fetch_export(
            node.hub, node.uuid, instance, output, supervoxels=supervoxels, progress=progress
        )
        return ExportResult(output.describe(), shards, blocks, size, seconds)
    started, began = time.perf_counter(), time.time()
    plan = plan_export(service, node.uuid, instance, supervoxels=supervoxels)
    writes = None
    if isinstance(output, DirectoryOutput) and direct_writes.AVAILABLE:
        writes = DirectWrites(output, buffers=max(1, workers) + 1)
    with progress_bar(plan.blocks, f"export {instance}", progress, unit="block") as bar:

        def one(task: ShardTask) -> int:
            size = run_task(service, task, writes or output)
            bar.update(task.blocks)
            return size

        sizes = _run_tasks(plan.tasks, one, workers, writes)
    written = sum(sizes)
    kept = {t.name for t, n in zip(plan.tasks, sizes, strict=True) if n}
    drop_stale(output, kept, SHARD_FILE, began=began)
    output.write("info", [json.dumps(plan.info, indent=1).encode()])
    seconds = time.perf_counter() - started
    return ExportResult(output.describe(), len(plan.tasks), plan.blocks, written, seconds)
