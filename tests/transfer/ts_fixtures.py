"""Writers of import fixtures in the formats labs bring, made by tensorstore (the
reference implementation of each), small enough for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import tensorstore as ts

SHARDING = {
    "@type": "neuroglancer_uint64_sharded_v1",
    "preshift_bits": 0,
    "hash": "identity",
    "minishard_bits": 1,
    "shard_bits": 1,
    "minishard_index_encoding": "gzip",
    "data_encoding": "gzip",
}


def write_precomputed(
    path: Path,
    levels: list[np.ndarray],
    *,
    encoding: str = "raw",
    sharded: bool = False,
    voxel_offset: tuple[int, int, int] = (0, 0, 0),
    chunk: tuple[int, int, int] = (8, 8, 8),
) -> None:
    """Scales of (z, y, x) arrays (scale k: ``levels[k]``) as precomputed at ``path``;
    ``voxel_offset`` (z, y, x) of scale 0, halved for each level above."""
    labels = levels[0].dtype == np.uint64
    for k, data in enumerate(levels):
        scale: dict[str, Any] = {
            "size": list(data.shape[::-1]),
            "encoding": encoding,
            "chunk_size": list(chunk[::-1]),
            "resolution": [4 << k, 4 << k, 40 << k],
            "voxel_offset": [v >> k for v in voxel_offset[::-1]],
        }
        if encoding == "compressed_segmentation":
            scale["compressed_segmentation_block_size"] = [8, 8, 8]
        if sharded:
            scale["sharding"] = SHARDING
        spec = {
            "driver": "neuroglancer_precomputed",
            "kvstore": f"file://{path}/",
            "multiscale_metadata": {
                "type": "segmentation" if labels else "image",
                "data_type": str(data.dtype),
                "num_channels": 1,
            },
            "scale_metadata": scale,
        }
        store = ts.open(spec, create=True).result()
        store[..., 0] = data.T
    if len(levels) > 1:  # every scale is listed in the one info file
        assert len(json.loads((path / "info").read_text())["scales"]) == len(levels)


def read_precomputed(path: Path, scale: int = 0) -> np.ndarray:
    """What tensorstore reads from a precomputed scale, as (z, y, x)."""
    spec = {"driver": "neuroglancer_precomputed", "kvstore": f"file://{path}/"}
    store = ts.open({**spec, "scale_index": scale}).result()
    return np.asarray(store[..., 0].read().result()).T


def write_zarr(
    path: Path,
    data: np.ndarray,
    *,
    version: int,
    chunk: tuple[int, ...],
    shard: tuple[int, ...] | None = None,
) -> None:
    """A Zarr v2 or v3 array (any rank) at ``path``; v3 with ``shard``: chunks stored in
    shards of that shape (``sharding_indexed``)."""
    driver = "zarr3" if version == 3 else "zarr"
    layout = ts.ChunkLayout(chunk_shape=list(chunk))
    if shard is not None:
        layout = ts.ChunkLayout(read_chunk_shape=list(chunk), write_chunk_shape=list(shard))
    store = ts.open(
        {"driver": driver, "kvstore": f"file://{path}/"},
        create=True,
        dtype=ts.dtype(data.dtype.name),
        shape=data.shape,
        chunk_layout=layout,
    ).result()
    store[...] = data


def write_ome_zarr(path: Path, levels: list[np.ndarray], *, version: int) -> None:
    """An OME-Zarr group (0.5 on Zarr v3, 0.4 on Zarr v2) with arrays ``s0``, ``s1``, ...
    of axes (c, z, y, x), c of size 1."""
    axes = [{"name": "c", "type": "channel"}] + [
        {"name": n, "type": "space", "unit": "nanometer"} for n in "zyx"
    ]
    datasets = [
        {
            "path": f"s{k}",
            "coordinateTransformations": [{"type": "scale", "scale": [1] + [2**k] * 3}],
        }
        for k in range(len(levels))
    ]
    multiscales = [{"axes": axes, "datasets": datasets, "name": "em"}]
    path.mkdir(parents=True)
    if version == 3:
        attributes = {"ome": {"version": "0.5", "multiscales": multiscales}}
        group = {"zarr_format": 3, "node_type": "group", "attributes": attributes}
        (path / "zarr.json").write_text(json.dumps(group))
    else:
        (path / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
        multiscales[0]["version"] = "0.4"
        (path / ".zattrs").write_text(json.dumps({"multiscales": multiscales}))
    for k, data in enumerate(levels):
        write_zarr(path / f"s{k}", data[np.newaxis], version=version, chunk=(1, 8, 8, 8))


def write_n5(path: Path, data: np.ndarray, *, chunk: tuple[int, int, int] = (8, 8, 8)) -> None:
    """An N5 dataset of (z, y, x) ``data``: N5 lists dimensions x first."""
    store = ts.open(
        {
            "driver": "n5",
            "kvstore": f"file://{path}/",
            "metadata": {
                "dimensions": list(data.shape[::-1]),
                "blockSize": list(chunk[::-1]),
                "dataType": data.dtype.name,
                "compression": {"type": "gzip"},
            },
        },
        create=True,
    ).result()
    store[...] = data.T
