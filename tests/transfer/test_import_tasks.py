"""Block-aligned import tasks, resuming an interrupted import, and tile-wise TIFF reads."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import voxhub
from voxhub import Box
from voxhub.cli.main import cli
from voxhub.geometry import BlockGrid
from voxhub.transfer import ImportProgress, import_volume, open_source, plan_import
from voxhub.transfer.import_tasks import task_shape
from voxhub.transfer.sources import ArraySource, Source

DATA = np.random.default_rng(3).integers(1, 255, (40, 37, 45), dtype=np.uint8)


class Failing:
    """A source that raises after ``reads`` box reads (a crash or Ctrl-C mid-import)."""

    def __init__(self, inner: Source, reads: int, error: BaseException) -> None:
        self.inner, self.left, self.error = inner, reads, error
        self.shape, self.dtype, self.origin = inner.shape, inner.dtype, inner.origin
        self.chunk_shape = inner.chunk_shape
        self.lock = threading.Lock()

    def read_box(self, box: Box) -> np.ndarray:
        with self.lock:
            if self.left == 0:
                raise self.error
            self.left -= 1
        return self.inner.read_box(box)

    def close(self) -> None:
        self.inner.close()


def _volume(max_scale: int = 1) -> voxhub.Volume:
    node = voxhub.open("memory://").create_repo("t").master
    return node.create_volume("em", "uint8", block_shape=(8, 8, 8), max_scale=max_scale)


def test_a_rerun_keeps_what_an_interrupted_import_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    vol = _volume()
    tasks = plan_import(vol, ArraySource(DATA, "data"), (3, 0, 5), budget=8 * 16 * 16)
    assert len(tasks) > 6
    counts = ImportProgress()
    failing = Failing(ArraySource(DATA, "data"), reads=4, error=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        import_volume(vol, failing, offset=(3, 0, 5), progress=False, counts=counts,
                      task_bytes=8 * 16 * 16, workers=1)  # fmt: skip
    # 4 reads succeed (tasks 0-3, in order with one worker); the 5th fails: no task
    # starts after it, and tasks 0-3 are written
    done = tasks[:4]
    assert counts.written == sum(len(list(BlockGrid((8, 8, 8)).blocks_in(t.box))) for t in done)
    assert counts.kept == 0
    written: list[Any] = []
    real_write = vol.write
    monkeypatch.setattr(
        vol, "write", lambda offset, data: (written.append(offset), real_write(offset, data))
    )
    again = import_volume(vol, ArraySource(DATA, "data"), offset=(3, 0, 5), progress=False,
                          task_bytes=8 * 16 * 16)  # fmt: skip
    assert again.kept == counts.written
    assert again.written + again.kept == again.blocks
    assert not {t.box.start for t in done} & set(written)  # kept tasks are not rewritten
    assert len(written) == len(tasks) - 4
    assert np.array_equal(vol.read(Box((3, 0, 5), (43, 37, 50))), DATA)
    fresh = _volume()
    fresh[3:43, 0:37, 5:50] = DATA
    assert np.array_equal(vol.read(Box((0, 0, 0), (24, 20, 26)), 1),
                          fresh.read(Box((0, 0, 0), (24, 20, 26)), 1))  # fmt: skip


def test_changed_source_blocks_are_rewritten() -> None:
    vol = _volume(0)
    import_volume(vol, ArraySource(DATA, "data"), progress=False)
    changed = DATA.copy()
    changed[30:32, 3:4, 40:41] = 0
    again = import_volume(vol, ArraySource(changed, "data"), progress=False, task_bytes=8**3 * 8)
    assert 0 < again.written < again.blocks
    assert np.array_equal(vol.read(Box((0, 0, 0), DATA.shape)), changed)


def test_cli_says_what_was_kept_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = str(tmp_path / "store")
    np.save(tmp_path / "in.npy", DATA)
    runner = CliRunner()
    with voxhub.open(store, mode="w") as hub:
        hub.create_repo("r").master.create_volume("em", "uint8", block_shape=(8, 8, 8))
    real_open = open_source
    monkeypatch.setattr(
        "voxhub.cli.import_run.open_source",
        lambda loc, scale=None: Failing(real_open(loc), 2, OSError("disk went away")),
    )
    args = ["import", "r", "em", str(tmp_path / "in.npy"), "--store", store]
    failed = runner.invoke(cli, args)
    assert failed.exit_code == 1
    # tasks of 8x8x64 voxels (one block tall and wide, whole .npy rows), 6 blocks each
    assert "import stopped after 12 of 150 blocks (12 written now, 0 kept" in failed.output
    assert "run the same command again to resume" in failed.output
    monkeypatch.setattr("voxhub.cli.import_run.open_source", real_open)
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert "kept 12 blocks already stored, wrote 138" in done.output
    with voxhub.open(store) as hub:
        vol = hub.node(hub.repos()[0].root).volume("em")
        assert np.array_equal(vol.read(Box((0, 0, 0), DATA.shape)), DATA)


@settings(max_examples=60, deadline=None)
@given(
    block=st.tuples(*[st.sampled_from([4, 8, 16])] * 3),
    chunk=st.tuples(st.integers(1, 40), st.integers(1, 200), st.integers(1, 200)),
    levels=st.integers(0, 4),
    itemsize=st.sampled_from([1, 2, 8]),
    budget=st.integers(1, 1 << 20),
)
def test_task_shape_is_block_aligned_and_within_budget(
    block: tuple[int, int, int], chunk: tuple[int, int, int], levels: int, itemsize: int,
    budget: int,
) -> None:  # fmt: skip
    shape = task_shape(block, chunk, levels, itemsize, budget)
    for axis in range(3):
        ratio = shape[axis] // block[axis]
        assert shape[axis] % block[axis] == 0
        assert ratio & (ratio - 1) == 0
    nbytes = shape[0] * shape[1] * shape[2] * itemsize
    assert (
        nbytes <= budget
        or shape == block
        or all(shape[a] <= max(block[a], 2 * chunk[a] - 1) for a in range(3))
    )


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 30), st.integers(1, 30), st.integers(1, 30)),
    offset=st.tuples(st.integers(-20, 20), st.integers(-20, 20), st.integers(-20, 20)),
    chunk=st.tuples(st.integers(1, 9), st.integers(1, 40), st.integers(1, 40)),
)
def test_tasks_tile_the_region_on_the_block_grid(
    shape: tuple[int, int, int], offset: tuple[int, int, int], chunk: tuple[int, int, int]
) -> None:
    vol = _volume(2)
    source = ArraySource(np.zeros(shape, np.uint8), "zeros", chunks=chunk)
    tasks = plan_import(vol, source, offset, budget=4096)
    region = Box.from_shape(shape, offset)
    grid = BlockGrid((8, 8, 8))
    assert sum(t.box.size for t in tasks) == region.size
    seen: set[tuple[int, int, int]] = set()
    for t in tasks:
        assert region.contains(t.box)
        assert grid.expand(t.box).intersect(region) == t.box  # whole blocks, clipped
        blocks = set(grid.blocks_in(t.box))
        assert not blocks & seen  # no block written by two tasks
        seen |= blocks


@settings(max_examples=25, deadline=None)
@given(
    tile=st.sampled_from([(16, 16), (32, 48), (16, 64)]),
    box=st.tuples(st.integers(0, 4), st.integers(0, 69), st.integers(0, 82)).flatmap(
        lambda s: st.tuples(
            st.just(s),
            st.integers(s[0] + 1, 5),
            st.integers(s[1] + 1, 70),
            st.integers(s[2] + 1, 83),
        )
    ),
    layout=st.sampled_from(["tiled", "strips", "folder", "raw-big-endian"]),
)
def test_tiff_reads_any_box_tile_by_tile(
    tmp_path_factory: pytest.TempPathFactory,
    tile: tuple[int, int],
    box: tuple[tuple[int, int, int], int, int, int],
    layout: str,
) -> None:
    data = np.arange(5 * 70 * 83, dtype=np.uint16).reshape(5, 70, 83)
    where = tmp_path_factory.mktemp("tiff")
    if layout == "tiled":
        tifffile.imwrite(where / "s.tif", data, tile=tile, photometric="minisblack")
        source = open_source(str(where / "s.tif"))
    elif layout == "strips":
        tifffile.imwrite(where / "s.tif", data, rowsperstrip=tile[0] // 3, compression="zlib",
                         photometric="minisblack")  # fmt: skip
        source = open_source(str(where / "s.tif"))
    else:  # a folder: zlib tiles, or plain ones (read by preadv) in the other byte order
        raw = layout == "raw-big-endian"
        how = {"compression": None, "byteorder": ">"} if raw else {"compression": "zlib"}
        for z, plane in enumerate(data):
            tifffile.imwrite(where / f"{z:02d}.tif", plane, tile=tile, **how)
        source = open_source(str(where))
    (z0, y0, x0), z1, y1, x1 = box
    try:
        assert source.shape == data.shape
        assert np.array_equal(source.read_box(Box((z0, y0, x0), (z1, y1, x1))),
                              data[z0:z1, y0:y1, x0:x1])  # fmt: skip
    finally:
        source.close()


def test_tiff_folder_refuses_a_section_of_another_shape(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((32, 32), np.uint8), tile=(16, 16))
    tifffile.imwrite(tmp_path / "b.tif", np.zeros((32, 48), np.uint8), tile=(16, 16))
    source = open_source(str(tmp_path))
    with pytest.raises(voxhub.errors.InvalidRequest, match=r"b.tif is \(32, 48\) uint8"):
        source.read_box(Box((0, 0, 0), (2, 16, 16)))
    source.close()
