"""Export a box of a volume to a TIFF stack, a .npy file or an HDF5 dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from voxhub.errors import InvalidRequest
from voxhub.geometry import Box

if TYPE_CHECKING:
    from voxhub.client.volume import Volume


def export_volume(
    vol: Volume, destination: str, *, box: Box | None = None, scale: int = 0, progress: bool = True
) -> Box:
    """Write ``box`` (default: the extents at ``scale``) of ``vol`` to ``destination``.

    The format follows the name: ``.tif``/``.tiff`` (multi-page TIFF, one page per z),
    ``.npy``, or ``file.h5:/dataset`` / ``file.h5`` (dataset ``/data``). Reads go slab by
    slab, one block tall. Returns the exported box.
    """
    view = vol.at_scale(scale)
    box = box if box is not None else view.bounds
    if box.empty:
        raise InvalidRequest(f"nothing to export: {vol.name!r} has no data at scale {scale}")
    depth = vol.block_shape[0]
    slabs = [(z, min(z + depth, box.stop[0])) for z in range(box.start[0], box.stop[0], depth)]
    path_part, _, dataset = destination.partition(".h5:")
    bar = tqdm(total=box.shape[0], unit="slice", disable=not progress, desc=f"export {vol.name}")

    def slab(z0: int, z1: int) -> np.ndarray:
        data = vol.read(
            Box((z0, box.start[1], box.start[2]), (z1, box.stop[1], box.stop[2])), scale
        )
        bar.update(z1 - z0)
        return data

    with bar:
        if dataset or destination.endswith((".h5", ".hdf5")):
            import h5py

            file_path = path_part + ".h5" if dataset else destination
            with h5py.File(file_path, "a") as f:
                out = f.create_dataset(dataset or "data", shape=box.shape, dtype=vol.dtype)
                for z0, z1 in slabs:
                    out[z0 - box.start[0] : z1 - box.start[0]] = slab(z0, z1)
        elif destination.endswith(".npy"):
            out_npy = np.lib.format.open_memmap(destination, "w+", vol.dtype, box.shape)
            for z0, z1 in slabs:
                out_npy[z0 - box.start[0] : z1 - box.start[0]] = slab(z0, z1)
            out_npy.flush()
        elif destination.lower().endswith((".tif", ".tiff")):
            import tifffile

            with tifffile.TiffWriter(
                destination, bigtiff=box.size * vol.dtype.itemsize > 2**31
            ) as w:
                for z0, z1 in slabs:
                    for plane in slab(z0, z1):
                        w.write(plane, contiguous=True)
        else:
            raise InvalidRequest(
                f"cannot export to {destination}: use .tif/.tiff, .npy or file.h5[:/dataset]"
            )
    if not Path(path_part + ".h5" if dataset else destination).exists():
        raise InvalidRequest(f"export to {destination} wrote nothing")
    return box
