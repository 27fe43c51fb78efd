"""Array sources for import: each exposes ``shape``, ``dtype`` and z-slab reads.

* a ``.npy`` file (memory-mapped),
* a multi-page TIFF stack (``.tif``/``.tiff``; one page per z),
* a folder of 2-D PNG or TIFF slices (sorted by name; one file per z),
* an HDF5 dataset (``file.h5:/path/to/dataset``; 3-D, z, y, x).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voxhub.errors import InvalidRequest, NotFound, VoxhubError
from voxhub.optional import require

SLICE_SUFFIXES = (".png", ".tif", ".tiff")


class Source(Protocol):
    """A 3-D (z, y, x) array readable in z-slabs."""

    shape: tuple[int, int, int]
    dtype: np.dtype[Any]

    def read(self, z0: int, z1: int) -> np.ndarray:
        """Planes ``z0:z1`` as an array of shape ``(z1 - z0, y, x)``."""
        ...

    def close(self) -> None: ...


def _shape3(shape: tuple[int, ...], what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise InvalidRequest(f"{what} must be 3-D (z, y, x), got shape {shape}")
    return (shape[0], shape[1], shape[2])


class ArraySource:
    """Any numpy-like 3-D array (a memmapped .npy, an h5py dataset)."""

    def __init__(self, array: Any, what: str, closer: Any = None) -> None:
        self.array = array
        self.shape = _shape3(tuple(array.shape), what)
        self.dtype = np.dtype(array.dtype)
        self._closer = closer

    def read(self, z0: int, z1: int) -> np.ndarray:
        return np.asarray(self.array[z0:z1])

    def close(self) -> None:
        if self._closer is not None:
            self._closer.close()


class SliceFolderSource:
    """A folder of 2-D slices, one per z, in name order."""

    def __init__(self, folder: Path) -> None:
        pil_image = require("PIL.Image", "importing a folder of slices")
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SLICE_SUFFIXES)
        if not self.files:
            raise InvalidRequest(f"folder {folder} holds no PNG or TIFF slices")
        first = np.asarray(pil_image.open(self.files[0]))
        if first.ndim != 2:
            raise InvalidRequest(f"slice {self.files[0].name} is not a 2-D grayscale image")
        self.shape = (len(self.files), first.shape[0], first.shape[1])
        self.dtype = first.dtype

    def read(self, z0: int, z1: int) -> np.ndarray:
        pil_image = require("PIL.Image", "importing a folder of slices")
        out = np.empty((z1 - z0, *self.shape[1:]), self.dtype)
        for i, path in enumerate(self.files[z0:z1]):
            plane = np.asarray(pil_image.open(path))
            if plane.shape != self.shape[1:] or plane.dtype != self.dtype:
                raise InvalidRequest(
                    f"slice {path.name} is {plane.shape} {plane.dtype}, "
                    f"expected {self.shape[1:]} {self.dtype}"
                )
            out[i] = plane
        return out

    def close(self) -> None:
        pass


def open_source(location: str) -> Source:
    """Open ``location`` as an import source (see the module docstring for the forms).

    A file that cannot be read as its suffix says raises
    :class:`~voxhub.errors.InvalidRequest` naming it, not the reader library's error.
    """
    try:
        return _open_source(location)
    except VoxhubError:
        raise
    except (OSError, ValueError, TypeError) as e:  # what numpy, tifffile, h5py, PIL raise
        raise InvalidRequest(f"cannot read {location}: {e}") from e


def _open_source(location: str) -> Source:
    path_part, _, dataset = location.partition(".h5:")
    if dataset or location.endswith((".h5", ".hdf5")):
        h5py = require("h5py", "importing from HDF5")
        file_path = path_part + ".h5" if dataset else location
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
        return ArraySource(handle[names[0]], f"dataset {names[0]!r}", handle)
    path = Path(location)
    if not path.exists():
        raise NotFound(f"no such file or folder: {location}")
    if path.is_dir():
        return SliceFolderSource(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return ArraySource(np.load(path, mmap_mode="r"), f"{path.name}")
    if suffix in (".tif", ".tiff"):
        tifffile = require("tifffile", "importing a TIFF stack")
        return ArraySource(
            tifffile.memmap(path) if _memmappable(path) else tifffile.imread(path),
            f"TIFF stack {path.name}",
        )
    raise InvalidRequest(
        f"cannot import {location}: use a .npy file, a TIFF stack, a folder of PNG/TIFF "
        "slices, or file.h5:/dataset"
    )


def _memmappable(path: Path) -> bool:
    tifffile = require("tifffile", "importing a TIFF stack")
    try:
        tifffile.memmap(path)
    except ValueError:
        return False
    return True
