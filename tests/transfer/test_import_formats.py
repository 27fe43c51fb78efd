"""Import from precomputed (dir and http, sharded or not; raw, jpeg,
compressed_segmentation; any scale), Zarr v2/v3, OME-Zarr and N5: the volume holds exactly
what tensorstore reads from the source; labels keep their uint64 ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import voxhub
from voxhub import Box
from voxhub.cli.main import cli
from voxhub.errors import InvalidRequest, NotFound
from voxhub.transfer import import_volume, open_source

ts = pytest.importorskip("tensorstore")

from tests.transfer.range_files import serving  # noqa: E402
from tests.transfer.ts_fixtures import (  # noqa: E402
    read_precomputed,
    write_n5,
    write_ome_zarr,
    write_precomputed,
    write_zarr,
)

RNG = np.random.default_rng(21)
EM = RNG.integers(0, 60000, (18, 20, 22), dtype=np.uint16)
EM1 = EM[::2, ::2, ::2].copy()
IDS = np.array([0, 7, 2**40 + 3, 2**63 + 5, 2**64 - 1], np.uint64)
SEG = IDS[RNG.integers(0, len(IDS), (18, 20, 22))]


def _node() -> voxhub.Node:
    return voxhub.open("memory://").create_repo("t").master


def _image(dtype: str = "uint16") -> voxhub.Volume:
    return _node().create_volume("em", dtype, block_shape=(8, 8, 8), max_scale=1)


def _import(location: str, vol: object, **kwargs: object) -> Box:
    source = open_source(location, scale=kwargs.pop("scale", None))  # type: ignore[arg-type]
    try:
        import_volume(vol, source, progress=False, **kwargs)  # type: ignore[arg-type]
        return Box.from_shape(source.shape, source.origin)
    finally:
        source.close()


@pytest.mark.parametrize("sharded", [False, True])
def test_precomputed_image_every_scale_keeps_voxel_offset(tmp_path: Path, sharded: bool) -> None:
    write_precomputed(tmp_path / "pc", [EM, EM1], sharded=sharded, voxel_offset=(4, 6, 8))
    vol = _image()
    box = _import(str(tmp_path / "pc"), vol)
    assert box == Box((4, 6, 8), (22, 26, 30))
    assert vol.extents() == box
    assert np.array_equal(vol.read(box), EM)
    coarse = _image()
    box1 = _import(f"precomputed://{tmp_path / 'pc'}", coarse, scale=1, offset=(0, 0, 0))
    assert np.array_equal(coarse.read(Box.from_shape(box1.shape)), EM1)


@pytest.mark.parametrize("sharded", [False, True])
def test_precomputed_segmentation_keeps_uint64_ids(tmp_path: Path, sharded: bool) -> None:
    write_precomputed(tmp_path / "seg", [SEG], encoding="compressed_segmentation", sharded=sharded)
    labels = _node().create_labels("seg", block_shape=(8, 8, 8))
    _import(str(tmp_path / "seg"), labels, dtype=np.dtype(np.uint64))
    assert np.array_equal(labels.read(Box((0, 0, 0), SEG.shape), supervoxels=True), SEG)
    assert labels.maxlabel() == 2**64 - 1


def test_precomputed_jpeg_imports_what_tensorstore_decodes(tmp_path: Path) -> None:
    em8 = (EM >> 8).astype(np.uint8)
    write_precomputed(tmp_path / "jpg", [em8], encoding="jpeg")
    vol = _image("uint8")
    _import(str(tmp_path / "jpg"), vol)
    assert np.array_equal(vol.read(Box((0, 0, 0), em8.shape)), read_precomputed(tmp_path / "jpg"))


@pytest.mark.parametrize("sharded", [False, True])
def test_precomputed_over_http(tmp_path: Path, sharded: bool) -> None:
    write_precomputed(tmp_path / "pc", [EM, EM1], sharded=sharded)
    write_precomputed(tmp_path / "seg", [SEG], encoding="compressed_segmentation", sharded=sharded)
    with serving(tmp_path) as url:
        vol = _image()
        _import(f"{url}/pc/", vol, scale=1)
        labels = _node().create_labels("seg", block_shape=(8, 8, 8))
        _import(f"precomputed://{url}/seg", labels, dtype=np.dtype(np.uint64))
    assert np.array_equal(vol.read(Box((0, 0, 0), EM1.shape)), EM1)
    assert np.array_equal(labels.read(Box((0, 0, 0), SEG.shape), supervoxels=True), SEG)


@pytest.mark.parametrize("version", [2, 3])
def test_zarr_arrays(tmp_path: Path, version: int) -> None:
    write_zarr(tmp_path / "a.zarr", EM, version=version, chunk=(4, 16, 16))
    write_zarr(tmp_path / "l.zarr", SEG, version=version, chunk=(8, 8, 8))
    vol = _image()
    _import(str(tmp_path / "a.zarr"), vol, offset=(1, 2, 3))
    assert np.array_equal(vol.read(Box((1, 2, 3), (19, 22, 25))), EM)
    labels = _node().create_labels("seg", block_shape=(8, 8, 8))
    _import(f"zarr://{tmp_path / 'l.zarr'}", labels, dtype=np.dtype(np.uint64))
    assert np.array_equal(labels.read(Box((0, 0, 0), SEG.shape), supervoxels=True), SEG)


def test_sharded_zarr3_over_http(tmp_path: Path) -> None:
    write_zarr(tmp_path / "s.zarr", EM, version=3, chunk=(4, 4, 4), shard=(8, 8, 8))
    vol = _image()
    with serving(tmp_path) as url:
        source = open_source(f"zarr3://{url}/s.zarr")
        assert source.chunk_shape == (4, 4, 4)  # tasks follow chunks, not shards
        import_volume(vol, source, progress=False)
    assert np.array_equal(vol.read(Box((0, 0, 0), EM.shape)), EM)


@pytest.mark.parametrize("version", [2, 3])
def test_ome_zarr_levels(tmp_path: Path, version: int) -> None:
    write_ome_zarr(tmp_path / "ome.zarr", [EM, EM1], version=version)
    with serving(tmp_path) as url:
        for scale, want, where in (
            (0, EM, str(tmp_path / "ome.zarr")),
            (1, EM1, f"{url}/ome.zarr"),
        ):
            vol = _image()
            _import(where, vol, scale=scale)
            assert np.array_equal(vol.read(Box((0, 0, 0), want.shape)), want)


def test_n5_dataset(tmp_path: Path) -> None:
    write_n5(tmp_path / "d.n5" / "em", EM)
    vol = _image()
    _import(f"n5://{tmp_path / 'd.n5' / 'em'}", vol)
    assert np.array_equal(vol.read(Box((0, 0, 0), EM.shape)), EM)
    assert open_source(str(tmp_path / "d.n5" / "em")).shape == EM.shape  # found by attributes.json


def test_bad_sources_say_what_is_wrong(tmp_path: Path) -> None:
    write_precomputed(tmp_path / "pc", [EM, EM1])
    write_zarr(tmp_path / "flat.zarr", EM[0], version=3, chunk=(8, 8))
    write_zarr(tmp_path / "multi.zarr", np.stack([EM, EM]), version=2, chunk=(1, 8, 8, 8))
    write_ome_zarr(tmp_path / "ome.zarr", [EM], version=3)
    (tmp_path / "group.n5").mkdir()
    (tmp_path / "group.n5" / "attributes.json").write_text('{"n5": "2.0.0"}')
    with pytest.raises(NotFound, match="no such file"):
        open_source(f"precomputed://{tmp_path / 'absent'}")
    with pytest.raises(InvalidRequest, match=r"scales 0\.\.1 .*not scale 2"):
        open_source(str(tmp_path / "pc"), scale=2)
    with pytest.raises(InvalidRequest, match=r"levels 0\.\.0 \(s0\), not scale 1"):
        open_source(str(tmp_path / "ome.zarr"), scale=1)
    with pytest.raises(InvalidRequest, match="single array"):
        open_source(str(tmp_path / "flat.zarr"), scale=1)
    with pytest.raises(InvalidRequest, match="3-D"):
        open_source(str(tmp_path / "flat.zarr"))
    with pytest.raises(InvalidRequest, match="more than one element"):
        open_source(str(tmp_path / "multi.zarr"))
    with pytest.raises(InvalidRequest, match="N5 group"):
        open_source(str(tmp_path / "group.n5"))
    with pytest.raises(InvalidRequest, match="not Zarr"):
        open_source(f"zarr3://{tmp_path / 'pc'}")
    (tmp_path / "broken.zarr").mkdir()
    (tmp_path / "broken.zarr" / ".zarray").write_text('{"zarr_format": 2}')
    with pytest.raises(InvalidRequest, match="cannot open"):
        open_source(str(tmp_path / "broken.zarr"))
    vol = _image("uint8")
    with pytest.raises(InvalidRequest, match="uint16 data into a uint8 volume"):
        _import(str(tmp_path / "pc"), vol)
    assert vol.extents() is None


def test_cli_imports_a_precomputed_scale_and_names_bad_ones(tmp_path: Path) -> None:
    write_precomputed(tmp_path / "seg", [SEG, SEG[::2, ::2, ::2].copy()],
                      encoding="compressed_segmentation", voxel_offset=(2, 4, 6))  # fmt: skip
    store = str(tmp_path / "store")
    with voxhub.open(store, mode="w") as hub:
        hub.create_repo("r").master.create_labels("seg", block_shape=(8, 8, 8))
    runner = CliRunner()
    args = ["labels", "import", "r", "seg", str(tmp_path / "seg"), "--store", store]
    bad = runner.invoke(cli, [*args, "--scale", "5"])
    assert bad.exit_code == 1
    assert "has scales 0..1 (4_4_40, 8_8_80), not scale 5" in bad.output
    done = runner.invoke(cli, [*args, "--scale", "1"])
    assert done.exit_code == 0, done.output
    with voxhub.open(store) as hub:
        seg = hub.node(hub.repos()[0].root).labels("seg")
        box = Box((1, 2, 3), (10, 12, 14))  # scale 1 keeps its halved voxel_offset
        assert np.array_equal(seg.read(box, supervoxels=True), SEG[::2, ::2, ::2])
    with serving(tmp_path) as url:
        missing = runner.invoke(
            cli, ["labels", "import", "r", "seg", f"{url}/absent", "--store", store]
        )
    assert missing.exit_code == 1
    assert "holds no precomputed info, zarr.json" in missing.output
