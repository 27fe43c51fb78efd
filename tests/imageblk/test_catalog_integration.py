"""ImageInstance on the real versioned view (Catalog) over MemoryStore and LmdbStore.

Covers versions (a child sees its parent's voxels, a committed node refuses writes) and
concurrent writers — threads, and spawned processes on one LMDB directory — writing
interleaved voxels of the same blocks: afterwards every voxel, and scale 1, is right.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from imageblk.reference import ReferenceVolume
from voxhub.datatypes.imageblk import ImageConfig, ImageInstance, typename_for
from voxhub.errors import VersionLocked
from voxhub.geometry import Box
from voxhub.storage.base import KVStore
from voxhub.storage.lmdb_store import LmdbStore
from voxhub.storage.memory import MemoryStore
from voxhub.versioning.catalog import Catalog

SHAPE = (8, 8, 16)
WRITERS = 4
CONFIG = ImageConfig.create(dtype="uint16", block_shape=(4, 4, 8), max_scale=1)


def expected_volume() -> np.ndarray:
    return np.broadcast_to(10 * np.arange(SHAPE[2], dtype=np.uint16) + 1, SHAPE).copy()


def write_columns(instance: ImageInstance, writer: int) -> None:
    """Writer ``w`` owns every x with ``x % WRITERS == w``: voxels interleave within blocks."""
    for x in range(writer, SHAPE[2], WRITERS):
        instance.write((0, 0, x), np.full((SHAPE[0], SHAPE[1], 1), 10 * x + 1, np.uint16))


def check(instance: ImageInstance) -> None:
    ref = ReferenceVolume(Box.from_shape(SHAPE), "uint16", (2, 2, 2))
    ref.write((0, 0, 0), expected_volume())
    for scale in (0, 1):
        box, data = ref.level(scale)
        np.testing.assert_array_equal(instance.read(box, scale), data, err_msg=f"scale {scale}")


@pytest.fixture(params=["memory", "lmdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KVStore]:
    s: KVStore = MemoryStore() if request.param == "memory" else LmdbStore(tmp_path / "db")
    yield s
    s.close()


def make_instance(catalog: Catalog) -> tuple[str, ImageInstance]:
    root = catalog.create_repo("test").root
    catalog.create_instance(root, "grey", typename_for(CONFIG.dtype), CONFIG.to_json())
    return root, ImageInstance(catalog.view(root, "grey"), CONFIG, "grey")


def test_versions_isolate_writes_and_committed_nodes_refuse_them(store: KVStore) -> None:
    catalog = Catalog(store)
    root, parent = make_instance(catalog)
    parent.write((-3, -2, -1), np.full((5, 6, 7), 9, np.uint16))
    catalog.commit(root)
    with pytest.raises(VersionLocked):
        parent.write((0, 0, 0), np.ones((1, 1, 1), np.uint16))
    child_uuid = catalog.newversion(root).uuid
    child = ImageInstance(catalog.view(child_uuid, "grey"), CONFIG, "grey")
    child.write((0, 0, 0), np.zeros((2, 2, 2), np.uint16))
    box = Box((-3, -2, -1), (2, 4, 6))
    expected = np.full(box.shape, 9, np.uint16)
    np.testing.assert_array_equal(parent.read(box), expected)
    expected[3:5, 2:4, 1:3] = 0
    np.testing.assert_array_equal(child.read(box), expected)
    assert child.extents() == parent.extents() == box
    # the child's pyramid reflects its own write, the parent's does not
    assert child.read(Box((0, 0, 0), (1, 1, 1)), 1)[0, 0, 0] == 0
    assert parent.read(Box((0, 0, 0), (1, 1, 1)), 1)[0, 0, 0] == 9


def test_threads_writing_interleaved_voxels_lose_nothing(store: KVStore) -> None:
    _, instance = make_instance(Catalog(store))
    barrier = threading.Barrier(WRITERS)

    def run(w: int) -> None:
        barrier.wait()
        write_columns(instance, w)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(instance)


def _process_writer(path: str, root: str, writer: int, start: object) -> None:
    store = LmdbStore(path)
    try:
        instance = ImageInstance(Catalog(store).view(root, "grey"), CONFIG, "grey")
        start.wait()  # type: ignore[attr-defined]
        write_columns(instance, writer)
    finally:
        store.close()


def test_processes_writing_interleaved_voxels_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    store = LmdbStore(path)
    root, _ = make_instance(Catalog(store))
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WRITERS)
    procs = [
        ctx.Process(target=_process_writer, args=(path, root, w, start)) for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    check(ImageInstance(Catalog(store).view(root, "grey"), CONFIG, "grey"))
    store.close()
