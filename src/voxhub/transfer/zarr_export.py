"""Export an image or label volume, every pyramid level, to a sharded OME-Zarr 0.5 group
on a local directory or an S3 bucket.

The result is exactly what the server's ``/zarr/{node}/{instance}/sharded/`` view serves
(:mod:`voxhub.datatypes.imageblk.zarr`): arrays ``s0``, ``s1``, … with the volume's
blocks as inner chunks of ``sharding_indexed`` shards (crc32c index), so any Zarr v3
reader (zarr-python, tensorstore, neuroglancer) opens it.

The work is split into block-aligned tasks, one shard each (:func:`shard_tasks`,
:func:`write_shard`), independent of each other, so the scale-out work can hand them to
Dask; here they run on a thread pool. A shard whose voxels are all background is not
written (readers fill it with the ``fill_value``). With ``overwrite``, the tasks cover
each array from its origin and a shard an earlier export left where the volume is now all
background is replaced by an empty one (an index of absent chunks), so nothing stale
shows through. The metadata is written last: an interrupted export has no ``zarr.json``
and opens as nothing rather than as a partial volume.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from voxhub.codecs.zarr_shard import empty_shard, encode_shard
from voxhub.datatypes.imageblk.zarr import (
    array_metadata,
    array_shape,
    encode_chunk,
    group_metadata,
    shard_blocks,
)
from voxhub.errors import Conflict
from voxhub.geometry import Box, Vec3
from voxhub.transfer.outputs import Output, open_output
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


def shard_tasks(vol: Volume | LabelVolume, *, from_origin: bool = False) -> list[ShardTask]:
    """Every shard of every level that overlaps the level's extents (others hold
    nothing), or every shard of its array with ``from_origin``; level by level, in C
    order of the shard grid."""
    config = vol.config
    side = [b * n for b, n in zip(config.block_shape, shard_blocks(config), strict=True)]
    tasks = []
    for scale in range(config.max_scale + 1):
        extents = vol.extents(scale)
        shape = array_shape(extents)
        if extents is None or 0 in shape:
            continue
        first = [
            0 if from_origin else max(0, s) // n for s, n in zip(extents.start, side, strict=True)
        ]
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
    vol: Volume | LabelVolume,
    task: ShardTask,
    output: Output,
    *,
    supervoxels: bool = False,
    overwrite: bool = False,
) -> int:
    """Write the shard of ``task`` (one block-aligned task); the bytes written. A shard
    all background is not written, or, with ``overwrite`` and an earlier one there,
    written empty (an index of absent chunks)."""
    shard = encode_task(vol, task, supervoxels=supervoxels)
    if shard is None:
        if not (overwrite and output.exists(task.key)):
            return 0
        shard = empty_shard(int(np.prod(shard_blocks(vol.config))))
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
    (:class:`~voxhub.errors.Conflict` otherwise; an interrupted replacement is made
    whole by running it again).

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
    output = open_output(destination)
    if output.exists("zarr.json") and not overwrite:
        raise Conflict(
            f"{output.describe()} already holds a Zarr group; pass --overwrite "
            "(overwrite=True) to replace it"
        )
    tasks = shard_tasks(vol, from_origin=overwrite)

    def run(task: ShardTask) -> int:
        return write_shard(vol, task, output, supervoxels=supervoxels, overwrite=overwrite)

    sizes: list[int] = []
    with (
        progress_bar(len(tasks), f"export {vol.name}", progress, unit="shard") as bar,
        ThreadPoolExecutor(max(1, workers), thread_name_prefix="voxhub-export") as pool,
    ):
        for size in pool.map(run, tasks):
            sizes.append(size)
            bar.update(1)
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
