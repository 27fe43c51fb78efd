"""Array sources for import: each exposes ``shape``, ``dtype`` and reads of any sub-box.

* a ``.npy`` file (memory-mapped),
* a multi-page TIFF stack (``.tif``/``.tiff``; one page per z), read tile by tile,
* a folder of 2-D PNG or TIFF slices (sorted by name; one file per z),
* an HDF5 dataset (``file.h5:/path/to/dataset``; 3-D, z, y, x),
* neuroglancer precomputed, Zarr v2/v3, OME-Zarr and N5, on disk or over http(s)
  (:mod:`voxhub.transfer.tensorstore_source`).

Sources are read box by box, never whole sections at once, so an import's memory follows
the size of its tasks (:mod:`voxhub.transfer.import_tasks`), not the size of a section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voxhub.errors import InvalidRequest, NotFound, VoxhubError
from voxhub.geometry import Box, Vec3
from voxhub.optional import require

SLICE_SUFFIXES = (".png", ".tif", ".tiff")
TIFF_SUFFIXES = (".tif", ".tiff")


class Source(Protocol):
    """A 3-D (z, y, x) array readable box by box."""

    shape: Vec3
    dtype: np.dtype[Any]
    #: where the source's own coordinates put its first voxel (a precomputed scale's
    #: ``voxel_offset``, an array's 0); an import places it there unless told otherwise.
    origin: Vec3
    #: the unit the source stores and decodes (z, y, x): a TIFF tile or strip, an HDF5 or
    #: zarr chunk. Import tasks cover whole units so none is decoded twice.
    chunk_shape: Vec3

    def read_box(self, box: Box) -> np.ndarray:
        """Voxels of ``box`` (inside ``Box.from_shape(shape)``), shape ``box.shape``."""
        ...

    def close(self) -> None: ...


def shape3(shape: tuple[int, ...], what: str) -> Vec3:
    """``shape`` as (z, y, x), or :class:`InvalidRequest` naming ``what`` when not 3-D."""
    if len(shape) != 3:
        raise InvalidRequest(f"{what} must be 3-D (z, y, x), got shape {tuple(shape)}")
    return (int(shape[0]), int(shape[1]), int(shape[2]))


class ArraySource:
    """Any numpy-like 3-D array (a memmapped .npy, an h5py dataset)."""

    origin: Vec3 = (0, 0, 0)

    def __init__(
        self, array: Any, what: str, closer: Any = None, chunks: tuple[int, ...] | None = None
    ) -> None:
        self.array = array
        self.shape = shape3(tuple(array.shape), what)
        self.dtype = np.dtype(array.dtype)
        # A contiguous array is cheapest to read in whole rows (whole x extents).
        self.chunk_shape = shape3(chunks, what) if chunks else (1, 1, self.shape[2])
        self._closer = closer

    def read_box(self, box: Box) -> np.ndarray:
        return np.asarray(self.array[box.relative_to((0, 0, 0))])

    def close(self) -> None:
        if self._closer is not None:
            self._closer.close()


class SliceFolderSource:
    """A folder of 2-D PNG slices, one per z, in name order (each read whole: PNG has no
    tiles)."""

    origin: Vec3 = (0, 0, 0)

    def __init__(self, files: list[Path]) -> None:
        pil_image = require("PIL.Image", "importing a folder of slices")
        self.files = files
        first = np.asarray(pil_image.open(self.files[0]))
        if first.ndim != 2:
            raise InvalidRequest(f"slice {self.files[0].name} is not a 2-D grayscale image")
        self.shape = (len(self.files), first.shape[0], first.shape[1])
        self.dtype = first.dtype
        self.chunk_shape = (1, *self.shape[1:])

    def read_box(self, box: Box) -> np.ndarray:
        pil_image = require("PIL.Image", "importing a folder of slices")
        out = np.empty(box.shape, self.dtype)
        for i, path in enumerate(self.files[box.start[0] : box.stop[0]]):
            plane = np.asarray(pil_image.open(path))
            if plane.shape != self.shape[1:] or plane.dtype != self.dtype:
                raise InvalidRequest(
                    f"slice {path.name} is {plane.shape} {plane.dtype}, "
                    f"expected {self.shape[1:]} {self.dtype}"
                )
            out[i] = plane[box.start[1] : box.stop[1], box.start[2] : box.stop[2]]
        return out

    def close(self) -> None:
        pass


def open_source(location: str, *, scale: int | None = None) -> Source:
    """Open ``location`` as an import source (see the module docstring for the forms).

    ``scale``: the level of a multiscale source (a precomputed scale index, an OME-Zarr
    dataset); other sources have only level 0. A file that cannot be read as its suffix
    says raises :class:`~voxhub.errors.InvalidRequest` naming it, not the reader
    library's error.
    """
    from voxhub.transfer import tensorstore_source

    try:
        if tensorstore_source.is_tensorstore_location(location):
            return tensorstore_source.open_tensorstore_source(location, scale)
        if scale not in (None, 0):
            raise InvalidRequest(f"{location} has a single scale (0), not scale {scale}")
        return _open_source(location)
    except VoxhubError:
        raise
    except (OSError, ValueError, TypeError) as e:  # what numpy, tifffile, h5py, PIL raise
        raise InvalidRequest(f"cannot read {location}: {e}") from e


def _open_source(location: str) -> Source:
    path_part, _, dataset = location.partition(".h5:")
    if dataset or location.endswith((".h5", ".hdf5")):
        return _open_h5(path_part + ".h5" if dataset else location, dataset)
    path = Path(location)
    if not path.exists():
        raise NotFound(f"no such file or folder: {location}")
    if path.is_dir():
        return _open_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return ArraySource(np.load(path, mmap_mode="r"), f"{path.name}")
    if suffix in TIFF_SUFFIXES:
        from voxhub.transfer.tiff_source import open_tiff_stack

        return open_tiff_stack([path])
    raise InvalidRequest(
        f"cannot import {location}: use a .npy file, a TIFF stack, a folder of PNG/TIFF "
        "slices, file.h5:/dataset, or a precomputed, Zarr, OME-Zarr or N5 directory or URL"
    )


def _open_h5(file_path: str, dataset: str) -> Source:
    h5py = require("h5py", "importing from HDF5")
    if not Path(file_path).exists():
        raise NotFound(f"no HDF5 file {file_path}")
    handle = h5py.File(file_path, "r")
    names = [dataset] if dataset else [n for n in handle if isinstance(handle[n], h5py.Dataset)]
    if len(names) != 1:
        handle.close()
        raise InvalidRequest(
            f"name the dataset as {file_path}:/dataset (found {', '.join(names) or 'none'})"
        )
    if names[0] not in handle:
        handle.close()
        raise NotFound(f"no dataset {names[0]!r} in {file_path}")
    data = handle[names[0]]
    try:
        return ArraySource(data, f"dataset {names[0]!r}", handle, data.chunks)
    except InvalidRequest:
        handle.close()
        raise


def _open_folder(folder: Path) -> Source:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SLICE_SUFFIXES)
    if not files:
        raise InvalidRequest(f"folder {folder} holds no PNG or TIFF slices")
    if all(p.suffix.lower() in TIFF_SUFFIXES for p in files):
        from voxhub.transfer.tiff_source import open_tiff_stack

        return open_tiff_stack(files)
    return SliceFolderSource(files)
