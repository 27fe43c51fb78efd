"""Export a box of a volume to a TIFF stack, a .npy file or an HDF5 dataset.

Every export is written under a temporary name (a sibling file, or a sibling dataset in
the HDF5 file) and renamed into place only once complete: an export that fails, or is
interrupted, leaves any file or dataset it was to replace as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voxhub.errors import Conflict, InvalidRequest
from voxhub.geometry import Box
from voxhub.optional import require
from voxhub.transfer.progress import progress_bar

if TYPE_CHECKING:
    from voxhub.client.volume import Volume

SlabReader = Callable[[], Iterator[tuple[int, np.ndarray]]]

#: HDF5 compression of exported datasets: gzip is readable by every HDF5 tool; level 1
#: because EM barely compresses further and export speed matters more.
H5_COMPRESSION = "gzip"
H5_COMPRESSION_LEVEL = 1


def export_volume(
    vol: Volume,
    destination: str,
    *,
    box: Box | None = None,
    scale: int = 0,
    progress: bool = True,
    overwrite: bool = False,
) -> Box:
    """Write ``box`` (default: the extents at ``scale``) of ``vol`` to ``destination``.

    The format follows the name: ``.tif``/``.tiff`` (multi-page TIFF, one page per z),
    ``.npy``, or ``file.h5:/dataset`` / ``file.h5`` (dataset ``/data``; chunked like the
    volume's blocks, gzip-compressed, with ``voxel_size``, ``voxel_units``, ``offset``,
    ``scale`` and ``axes`` attributes). An existing file (or HDF5 dataset) is replaced
    only with ``overwrite=True`` (:class:`~voxhub.errors.Conflict` otherwise). Reads go
    slab by slab, one block tall. Returns the exported box.
    """
    path_part, _, dataset = destination.partition(".h5:")
    is_h5 = bool(dataset) or destination.endswith((".h5", ".hdf5"))
    lower = destination.lower()
    if not (is_h5 or lower.endswith((".npy", ".tif", ".tiff"))):
        raise InvalidRequest(
            f"cannot export to {destination}: use .tif/.tiff, .npy or file.h5[:/dataset]"
        )
    view = vol.at_scale(scale)
    box = box if box is not None else view.bounds
    if box.empty:
        raise InvalidRequest(f"nothing to export: {vol.name!r} has no data at scale {scale}")
    depth = vol.block_shape[0]

    def slabs() -> Iterator[tuple[int, np.ndarray]]:
        with progress_bar(box.shape[0], f"export {vol.name}", progress) as bar:
            for z0 in range(box.start[0], box.stop[0], depth):
                z1 = min(z0 + depth, box.stop[0])
                sub = Box((z0, box.start[1], box.start[2]), (z1, box.stop[1], box.stop[2]))
                yield z0 - box.start[0], vol.read(sub, scale)
                bar.update(z1 - z0)

    if is_h5:
        h5_path = path_part + ".h5" if dataset else destination
        _export_h5(vol, h5_path, dataset or "data", box, scale, slabs, overwrite)
    else:
        _export_file(vol, destination, box, slabs, overwrite)
    return box


def _export_file(
    vol: Volume, destination: str, box: Box, slabs: SlabReader, overwrite: bool
) -> None:
    """A .npy or TIFF file, written beside ``destination`` and renamed over it."""
    target = Path(destination)
    if target.exists() and not overwrite:
        raise Conflict(f"{destination} exists; pass --overwrite (overwrite=True) to replace it")
    if not target.parent.is_dir():
        raise InvalidRequest(f"cannot export to {destination}: no folder {target.parent}")
    partial = target.with_name(f".{target.name}.partial{target.suffix}")
    try:
        if destination.endswith(".npy"):
            out = np.lib.format.open_memmap(partial, "w+", vol.dtype, box.shape)
            for z, data in slabs():
                out[z : z + data.shape[0]] = data
            out.flush()
            del out
        else:
            tifffile = require("tifffile", "exporting a TIFF stack")
            big = box.size * vol.dtype.itemsize > 2**31
            with tifffile.TiffWriter(partial, bigtiff=big) as w:
                for _, data in slabs():
                    for plane in data:
                        w.write(plane, contiguous=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _export_h5(
    vol: Volume,
    path: str,
    dataset: str,
    box: Box,
    scale: int,
    slabs: SlabReader,
    overwrite: bool,
) -> None:
    """A chunked, compressed HDF5 dataset carrying the volume's geometry as attributes."""
    h5py = require("h5py", "exporting to HDF5")
    name = "/" + dataset.strip("/")
    if not Path(path).parent.is_dir():
        raise InvalidRequest(f"cannot export to {path}: no folder {Path(path).parent}")
    with h5py.File(path, "a") as f:
        if name in f and not overwrite:
            raise Conflict(
                f"{path} already holds {name}; pass --overwrite (overwrite=True) to replace it"
            )
        partial = f"{name}.partial"
        if partial in f:  # left by an interrupted export
            del f[partial]
        chunks = tuple(min(c, s) for c, s in zip(vol.block_shape, box.shape, strict=True))
        out = f.create_dataset(
            partial,
            shape=box.shape,
            dtype=vol.dtype,
            chunks=chunks,
            compression=H5_COMPRESSION,
            compression_opts=H5_COMPRESSION_LEVEL,
        )
        try:
            for z, data in slabs():
                out[z : z + data.shape[0]] = data
        except BaseException:
            del f[partial]
            raise
        for key, value in geometry_attributes(vol, box, scale).items():
            out.attrs[key] = value
        if name in f:
            del f[name]
        f.move(partial, name)


def geometry_attributes(vol: Volume, box: Box, scale: int) -> dict[str, Any]:
    """Where an exported box sits: voxel size at ``scale`` and offset, all (z, y, x).

    ``offset`` is the box's first voxel in scale-``scale`` voxels; ``offset_physical``
    (in ``voxel_units``) places it in physical space, so several exports line up.
    """
    c = vol.config
    factor = c.scale_factor(scale)
    size = [float(v) * f for v, f in zip(c.voxel_size, factor, strict=True)]
    return {
        "axes": "zyx",
        "voxel_size": np.array(size),
        "voxel_units": c.voxel_units,
        "offset": np.array(box.start, dtype=np.int64),
        "offset_physical": np.array([s * v for s, v in zip(box.start, size, strict=True)]),
        "scale": scale,
        "source": f"voxhub {vol.node.uuid} {vol.name}",
    }
