"""Export an image or label volume, every pyramid level, to a sharded OME-Zarr 0.5 group
on a local directory or an S3 bucket.

The result is exactly what the server's ``/zarr/{node}/{instance}/sharded/`` view serves
(:mod:`voxhub.datatypes.imageblk.zarr`): arrays ``s0``, ``s1``, … with the volume's
blocks as inner chunks of ``sharding_indexed`` shards (crc32c index), so any Zarr v3
reader (zarr-python, tensorstore, neuroglancer) opens it.

The work is split into block-aligned tasks, one shard each (:func:`shard_tasks`,
:func:`write_shard`), independent of each other, so the scale-out work can hand them to
Dask; here they run on a thread pool. A shard whose voxels are all background is not
written (readers fill it with the ``fill_value``). ``overwrite`` first removes the
earlier export's ``zarr.json`` and arrays ``s{n}`` (nothing else under the destination).
The metadata is written last: an interrupted export has no ``zarr.json`` and opens as
nothing rather than as a partial volume.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from voxhub.codecs.zarr_shard import encode_shard
from voxhub.datatypes.imageblk.config import MAX_SCALE
from voxhub.datatypes.imageblk.zarr import (
    array_metadata,
    array_shape,
    encode_chunk,
    group_metadata,
    shard_blocks,
)
from voxhub.errors import Conflict
from voxhub.geometry import Box, Vec3
from voxhub.transfer.destinations import Destination, open_destination
from voxhub.transfer.progress import progress_bar

if TYPE_CHECKING:
    from voxhub.client.labels import LabelVolume
    from voxhub.client.volume import Volume

#: shards written at once (each holds one shard of voxels in memory, 16-128 MiB)
WORKERS = 2


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


def shard_tasks(vol: Volume | LabelVolume) -> list[ShardTask]:
    """Every shard of every level that overlaps the level's extents (others hold
    nothing), level by level, in C order of the shard grid."""
    config = vol.config
    side = [b * n for b, n in zip(config.block_shape, shard_blocks(config), strict=True)]
    tasks = []
    for scale in range(config.max_scale + 1):
        extents = vol.extents(scale)
        shape = array_shape(extents)
        if extents is None or 0 in shape:
            continue
        first = [max(0, s) // n for s, n in zip(extents.start, side, strict=True)]
        last = [-(-e // n) for e, n in zip(shape, side, strict=True)]
        for shard in product(*(range(a, b) for a, b in zip(first, last, strict=True))):
            start = tuple(i * n for i, n in zip(shard, side, strict=True))
            stop = tuple(min(s + n, e) for s, n, e in zip(start, side, shape, strict=True))
            box = Box((start[0], start[1], start[2]), (stop[0], stop[1], stop[2]))
            tasks.append(ShardTask(scale, (shard[0], shard[1], shard[2]), box))
    return tasks


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
    vol: Volume | LabelVolume,
    task: ShardTask,
    destination: Destination,
    *,
    supervoxels: bool = False,
) -> int:
    """Write the shard of ``task`` (one block-aligned task); the bytes written (0: all
    background, nothing written)."""
    shard = encode_task(vol, task, supervoxels=supervoxels)
    if shard is None:
        return 0
    destination.put(task.key, shard)
    return len(shard)


def export_ome_zarr(
    vol: Volume | LabelVolume,
    destination: str | Destination,
    *,
    supervoxels: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    workers: int = WORKERS,
) -> ZarrExport:
    """Export ``vol`` at its node, every level, to a sharded OME-Zarr 0.5 group at
    ``destination`` (a directory, ``s3://bucket/prefix[?endpoint=...]`` or a
    :class:`~voxhub.transfer.destinations.Destination`). Label volumes export body ids
    unless ``supervoxels``. An existing OME-Zarr there is replaced only with
    ``overwrite`` (:class:`~voxhub.errors.Conflict` otherwise).
    """
    target = open_destination(destination) if isinstance(destination, str) else destination
    if target.exists("zarr.json"):
        if not overwrite:
            raise Conflict(
                f"{target.describe()} already holds a Zarr group; pass --overwrite "
                "(overwrite=True) to replace it"
            )
        target.delete("zarr.json")  # first: a half-replaced export must not open
        for scale in range(MAX_SCALE + 1):
            target.delete_tree(f"s{scale}")
    tasks = shard_tasks(vol)

    def run(task: ShardTask) -> int:
        return write_shard(vol, task, target, supervoxels=supervoxels)

    sizes: list[int] = []
    with (
        progress_bar(len(tasks), f"export {vol.name}", progress, unit="shard") as bar,
        ThreadPoolExecutor(max(1, workers)) as pool,
    ):
        for size in pool.map(run, tasks):
            sizes.append(size)
            bar.update(1)
    config = vol.config
    levels = [vol.extents(s) for s in range(config.max_scale + 1)]
    for scale, extents in enumerate(levels):
        meta = array_metadata(config, array_shape(extents), sharded=True)
        target.put(f"s{scale}/zarr.json", _json(meta))
    target.put("zarr.json", _json(group_metadata(config, vol.name, levels, sharded=True)))
    written = [s for s in sizes if s]
    return ZarrExport(target.describe(), len(written), len(sizes) - len(written), sum(written))


def _json(doc: object) -> bytes:
    return json.dumps(doc, indent=2).encode()
