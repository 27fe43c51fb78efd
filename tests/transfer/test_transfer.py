"""Import from and export to every supported format round-trips the voxels."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile
from PIL import Image

import voxhub
from voxhub import Box
from voxhub.client import Volume
from voxhub.errors import Conflict, InvalidRequest, NotFound, StorageError
from voxhub.transfer import export_volume, import_volume, open_source

DATA = np.random.default_rng(5).integers(0, 255, (20, 24, 28), dtype=np.uint8)


@pytest.fixture
def vol() -> Volume:
    hub = voxhub.open("memory://")
    return hub.create_repo("t").master.create_volume("em", "uint8", block_shape=(8, 8, 8))


def write_sources(tmp_path: Path) -> dict[str, str]:
    np.save(tmp_path / "v.npy", DATA)
    tifffile.imwrite(tmp_path / "v.tif", DATA)
    folder = tmp_path / "slices"
    folder.mkdir()
    for z, plane in enumerate(DATA):
        Image.fromarray(plane).save(folder / f"s{z:03d}.png")
    with h5py.File(tmp_path / "v.h5", "w") as f:
        f.create_dataset("raw/em", data=DATA)
    return {
        "npy": str(tmp_path / "v.npy"),
        "tiff": str(tmp_path / "v.tif"),
        "folder": str(folder),
        "hdf5": str(tmp_path / "v.h5") + ":raw/em",
    }


@pytest.mark.parametrize("kind", ["npy", "tiff", "folder", "hdf5"])
def test_import_each_format(vol: Volume, tmp_path: Path, kind: str) -> None:
    source = open_source(write_sources(tmp_path)[kind])
    import_volume(vol, source, offset=(3, 0, 5), progress=False)
    source.close()
    assert vol.extents() == Box((3, 0, 5), (23, 24, 33))
    assert np.array_equal(vol.read(Box((3, 0, 5), (23, 24, 33))), DATA)


@pytest.mark.parametrize("name", ["out.tif", "out.npy", "out.h5:/exported", "out.h5"])
def test_export_each_format(vol: Volume, tmp_path: Path, name: str) -> None:
    vol[0:20, 0:24, 0:28] = DATA
    dest = str(tmp_path / name)
    export_volume(vol, dest, progress=False)
    if name.endswith(".tif"):
        back = tifffile.imread(dest)
    elif name.endswith(".npy"):
        back = np.load(dest)
    else:
        with h5py.File(tmp_path / "out.h5") as f:
            back = f["exported" if ":" in name else "data"][...]
    assert np.array_equal(back, DATA)


def test_bad_sources_and_destinations_say_why(vol: Volume, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        open_source(str(tmp_path / "missing.npy"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InvalidRequest, match="cannot import"):
        open_source(str(tmp_path / "notes.txt"))
    np.save(tmp_path / "flat.npy", np.zeros((4, 4), np.uint8))
    with pytest.raises(InvalidRequest, match="3-D"):
        open_source(str(tmp_path / "flat.npy"))
    with pytest.raises(InvalidRequest, match="nothing to export"):
        export_volume(vol, str(tmp_path / "e.npy"), progress=False)
    vol[0:2, 0:2, 0:2] = 1
    with pytest.raises(InvalidRequest, match="cannot export"):
        export_volume(vol, str(tmp_path / "e.zip"), progress=False)


def test_import_refuses_lossy_dtypes_before_writing(vol: Volume, tmp_path: Path) -> None:
    np.save(tmp_path / "wide.npy", np.full((20, 4, 4), 300, np.uint16))
    with pytest.raises(InvalidRequest, match="without loss"):
        import_volume(vol, open_source(str(tmp_path / "wide.npy")), progress=False)
    assert vol.extents() is None


def test_hdf5_export_carries_chunking_compression_and_geometry(tmp_path: Path) -> None:
    hub = voxhub.open("memory://")
    node = hub.create_repo("t").master
    vol = node.create_volume(
        "em", "uint8", block_shape=(8, 8, 8), voxel_size=(30, 4, 4), max_scale=1
    )
    vol[0:20, 0:24, 0:28] = DATA
    export_volume(vol, str(tmp_path / "a.h5:/s0"), box=Box((3, 4, 5), (20, 24, 28)),
                  progress=False)  # fmt: skip
    export_volume(vol, str(tmp_path / "a.h5:/s1"), scale=1, progress=False)
    with h5py.File(tmp_path / "a.h5") as f:
        s0, s1 = f["s0"], f["s1"]
        assert s0.chunks == (8, 8, 8)
        assert s0.compression == "gzip"
        assert np.array_equal(s0[...], DATA[3:, 4:, 5:])
        assert list(s0.attrs["offset"]) == [3, 4, 5]
        assert list(s0.attrs["voxel_size"]) == [30.0, 4.0, 4.0]
        assert list(s0.attrs["offset_physical"]) == [90.0, 16.0, 20.0]
        assert s0.attrs["voxel_units"] == "nanometers"
        assert s0.attrs["axes"] == "zyx"
        assert list(s1.attrs["voxel_size"]) == [60.0, 8.0, 8.0]
        assert s1.attrs["scale"] == 1
        assert s1.shape == (10, 12, 14)
        assert s1.chunks == (8, 8, 8)


@pytest.mark.parametrize("name", ["out.npy", "out.tif", "out.h5:/em"])
def test_a_failed_overwrite_leaves_the_old_export(
    vol: Volume, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    vol[0:20, 0:24, 0:28] = DATA
    dest = str(tmp_path / name)
    export_volume(vol, dest, progress=False)
    before = (tmp_path / name.split(":")[0]).read_bytes()
    with pytest.raises(Conflict, match="--overwrite"):
        export_volume(vol, dest, progress=False)
    calls = []

    def failing_read(box: Box, scale: int = 0) -> np.ndarray:
        calls.append(box)
        if len(calls) == 2:
            raise StorageError("disk went away")
        return np.zeros(box.shape, np.uint8)

    monkeypatch.setattr(vol, "read", failing_read)
    with pytest.raises(StorageError):
        export_volume(vol, dest, progress=False, overwrite=True)
    if name.endswith(".h5:/em"):
        with h5py.File(tmp_path / "out.h5") as f:
            assert np.array_equal(f["em"][...], DATA)
            assert list(f) == ["em"]
    else:
        assert (tmp_path / name).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [name.split(":")[0]]
