"""Export an image or label volume, every pyramid level, to a sharded OME-Zarr 0.5 group
on a local directory or an S3 bucket.

The result is exactly what the server's ``/zarr/{node}/{instance}/sharded/`` view serves
(:mod:`voxhub.datatypes.imageblk.zarr`): arrays ``s0``, ``s1``, … with the volume's
blocks as inner chunks of ``sharding_indexed`` shards (crc32c index), so any Zarr v3
reader (zarr-python, tensorstore, neuroglancer) opens it.

The work is split into block-aligned tasks, one shard each (:func:`shard_tasks`,
:func:`write_shard`), independent of each other, so the scale-out work can hand them to
Dask; here they run on a thread pool. From a hub on a store the tasks are the shards
holding stored blocks, found by one key scan per level (:func:`stored_shard_tasks`: work
follows what is stored, not the extents, which a client may declare of any size); from a
hub on a server, which lists no keys, every shard overlapping the extents. A shard whose
voxels are all background is not written (readers fill it with the ``fill_value``).
Replacing an export (:mod:`.replace`) deletes its metadata first, so an interrupted
replacement opens as nothing rather than as a mix of old and new; the chunk shards the
new export did not write are deleted before the metadata is written again, last.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from voxhub.codecs.zarr_shard import encode_shard
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.stored import stored_blocks
from voxhub.datatypes.imageblk.zarr import (
    array_metadata,
    array_shape,
    encode_chunk,
    group_metadata,
    shard_blocks,
)
from voxhub.errors import Conflict
from voxhub.geometry import Box, Vec3
from voxhub.service import Service
from voxhub.transfer.outputs import Output, open_output
from voxhub.transfer.progress import progress_bar
from voxhub.transfer.replace import drop_stale, withdraw

if TYPE_CHECKING:
    from voxhub.client.labels import LabelVolume
    from voxhub.client.volume import Volume

#: shards written at once (each holds one shard of voxels in memory, 16-128 MiB)
WORKERS = 2
#: an export's metadata files (the group's and each array's) and its chunk shard files
METADATA = re.compile(r"(s[0-9]+/)?zarr\.json")
SHARD_FILE = re.compile(r"s[0-9]+/c/[0-9]+/[0-9]+/[0-9]+")
#: a level's stored block coordinates inside a box of block coordinates
StoredBlocks = Callable[[int, Box], Iterable[Vec3]]


@dataclass(frozen=True)
class ShardTask:
    """One shard of one level: grid position ``shard`` of array ``s{scale}``, whose
    voxels are ``box`` (scale-``scale`` coordinates, clipped to the array)."""

    scale: int
    shard: Vec3
    box: Box

    @property
    def key(self) -> str:
        z, y, x = self.shard
        return f"s{self.scale}/c/{z}/{y}/{x}"


@dataclass(frozen=True)
class ZarrExport:
    """What an export wrote."""

    destination: str
    shards: int  # written
    empty: int  # all background: not written
    nbytes: int  # of the shards written


def _side(config: ImageConfig) -> list[int]:
    """A shard's voxels along (z, y, x)."""
    return [b * n for b, n in zip(config.block_shape, shard_blocks(config), strict=True)]


def _task(config: ImageConfig, scale: int, shard: Vec3, shape: Vec3) -> ShardTask:
    """The task of the shard at grid position ``shard`` of an array of ``shape``."""
    side = _side(config)
    start = tuple(i * n for i, n in zip(shard, side, strict=True))
    stop = tuple(min(s + n, e) for s, n, e in zip(start, side, shape, strict=True))
    return ShardTask(scale, shard, Box((start[0], start[1], start[2]), (stop[0], stop[1], stop[2])))


def shard_tasks(vol: Volume | LabelVolume) -> list[ShardTask]:
    """Every shard of every level that overlaps the level's extents (others hold
    nothing); level by level, in C order of the shard grid."""
    config = vol.config
    side = _side(config)
    tasks = []
    for scale in range(config.max_scale + 1):
        extents = vol.extents(scale)
        shape = array_shape(extents)
        if extents is None or 0 in shape:
            continue
        first = [max(0, s) // n for s, n in zip(extents.start, side, strict=True)]
        last = [-(-e // n) for e, n in zip(shape, side, strict=True)]
        for shard in product(*(range(a, b) for a, b in zip(first, last, strict=True))):
            tasks.append(_task(config, scale, (shard[0], shard[1], shard[2]), shape))
    return tasks


def stored_shard_tasks(vol: Volume | LabelVolume, stored: StoredBlocks) -> list[ShardTask]:
    """The shards of every level holding a block ``stored`` lists (inside the array:
    blocks at negative coordinates are outside every Zarr array); level by level, in C
    order of the shard grid."""
    config = vol.config
    per, block = shard_blocks(config), config.block_shape
    tasks = []
    for scale in range(config.max_scale + 1):
        shape = array_shape(vol.extents(scale))
        if 0 in shape:
            continue
        grid = Box((0, 0, 0), tuple(-(-e // b) for e, b in zip(shape, block, strict=True)))  # type: ignore[arg-type]
        shards = {(z // per[0], y // per[1], x // per[2]) for z, y, x in stored(scale, grid)}
        tasks += [_task(config, scale, shard, shape) for shard in sorted(shards)]
    return tasks


def _stored_blocks(vol: Volume | LabelVolume) -> StoredBlocks | None:
    """A key scan of ``vol``'s stored blocks, when its hub reads a store (else ``None``)."""
    service = getattr(vol.node.hub, "service", None)
    if not isinstance(service, Service):
        return None
    info = service.catalog.instance(vol.node.uuid, vol.name)
    from voxhub.client.labels import LabelVolume

    if isinstance(vol, LabelVolume):
        reader = service.open_labels(vol.node.uuid, info).view
    else:
        reader = service.open_image(vol.node.uuid, info).view
    return lambda scale, grid: stored_blocks(reader, scale, grid)


def _reader(vol: Volume | LabelVolume, supervoxels: bool) -> Callable[[Box, int], np.ndarray]:
    from voxhub.client.labels import LabelVolume

    if isinstance(vol, LabelVolume):
        return lambda box, scale: vol.read(box, scale, supervoxels=supervoxels)
    return lambda box, scale: vol.read(box, scale)


def encode_task(
    vol: Volume | LabelVolume, task: ShardTask, *, supervoxels: bool = False
) -> bytes | None:
    """The shard of ``task`` (``None`` if all its voxels are background)."""
    config = vol.config
    extents = vol.extents(task.scale)
    if extents is None or extents.intersect(task.box).empty:
        return None  # nothing written there: no need to read it
    per, block = shard_blocks(config), config.block_shape
    full = tuple(n * b for n, b in zip(per, block, strict=True))
    data = _reader(vol, supervoxels)(task.box, task.scale)
    if data.shape != full:  # an edge shard: inner chunks are whole blocks
        padded = np.full(full, config.background, data.dtype)
        padded[tuple(slice(0, s) for s in data.shape)] = data
        data = padded
    chunks: list[bytes | None] = []
    for z, y, x in product(range(per[0]), range(per[1]), range(per[2])):
        cut = data[
            z * block[0] : (z + 1) * block[0],
            y * block[1] : (y + 1) * block[1],
            x * block[2] : (x + 1) * block[2],
        ]
        chunks.append(None if (cut == config.background).all() else encode_chunk(cut))
    return encode_shard(chunks)


def write_shard(
    vol: Volume | LabelVolume, task: ShardTask, output: Output, *, supervoxels: bool = False
) -> int:
    """Write the shard of ``task`` (one block-aligned task); the bytes written (0: all
    background, not written)."""
    shard = encode_task(vol, task, supervoxels=supervoxels)
    if shard is None:
        return 0
    output.write(task.key, [shard])
    return len(shard)


def export_ome_zarr(
    vol: Volume | LabelVolume,
    destination: str,
    *,
    supervoxels: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    workers: int = WORKERS,
) -> ZarrExport:
    """Export ``vol`` at its node, every level, to a sharded OME-Zarr 0.5 group at
    ``destination`` (a folder, or ``s3://bucket/prefix?endpoint=...``: see
    :mod:`voxhub.transfer.outputs`). Label volumes export body ids unless
    ``supervoxels``. An existing OME-Zarr there is replaced only with ``overwrite``
    (:class:`~voxhub.errors.Conflict` otherwise; an interrupted replacement has no
    ``zarr.json`` and is made whole by running it again).

    >>> import voxhub, tempfile, zarr
    >>> hub = voxhub.open("memory://")
    >>> seg = hub.create_repo("demo").master.create_labels("seg")
    >>> seg[0:64, 0:64, 0:300] = 7
    >>> out = tempfile.mkdtemp() + "/seg.ome.zarr"
    >>> export_ome_zarr(seg, out, progress=False).shards
    2
    >>> int(zarr.open_array(out + "/s0", mode="r")[63, 63, 299])
    7
    """
    began = time.time()
    output = open_output(destination)
    if output.exists("zarr.json") and not overwrite:
        raise Conflict(
            f"{output.describe()} already holds a Zarr group; pass --overwrite "
            "(overwrite=True) to replace it"
        )
    withdraw(output, METADATA)  # an interrupted replacement must open as nothing
    stored = _stored_blocks(vol)
    tasks = shard_tasks(vol) if stored is None else stored_shard_tasks(vol, stored)

    def run(task: ShardTask) -> int:
        return write_shard(vol, task, output, supervoxels=supervoxels)

    sizes: list[int] = []
    with (
        progress_bar(len(tasks), f"export {vol.name}", progress, unit="shard") as bar,
        ThreadPoolExecutor(max(1, workers), thread_name_prefix="voxhub-export") as pool,
    ):
        for size in pool.map(run, tasks):
            sizes.append(size)
            bar.update(1)
    kept = {t.key for t, n in zip(tasks, sizes, strict=True) if n}
    drop_stale(output, kept, SHARD_FILE, began=began)
    config = vol.config
    levels = [vol.extents(s) for s in range(config.max_scale + 1)]
    for scale, extents in enumerate(levels):
        meta = array_metadata(config, array_shape(extents), sharded=True)
        output.write(f"s{scale}/zarr.json", [_json(meta)])
    group = group_metadata(config, vol.name, levels, sharded=True)
    output.write("zarr.json", [_json(group)])
    written = [s for s in sizes if s]
    return ZarrExport(output.describe(), len(written), len(sizes) - len(written), sum(written))


def _json(doc: object) -> bytes:
    return json.dumps(doc, indent=2).encode()
