"""LMDB bulk writes (``LmdbStore.bulk_writes``, used by imports): the commits made inside
drop the pages they wrote from the page cache, and nothing else changes.

Residency is read with ``mincore(2)`` on a private mapping of ``data.mdb`` (Linux; the
test is skipped where ``posix_fadvise`` or ``mincore`` is missing). The contrast with the
same writes made outside the context is what makes the first test able to fail.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import voxhub
from voxhub.storage import lmdb_env
from voxhub.storage.lmdb_store import LmdbStore
from voxhub.transfer import import_volume
from voxhub.transfer.sources import ArraySource

pytestmark = pytest.mark.skipif(
    not hasattr(os, "posix_fadvise") or not sys.platform.startswith("linux"),
    reason="page-cache hints and mincore are Linux-only",
)

VALUE = 256 << 10  # a large value: LMDB overflow pages, never read back through the map


def resident_fraction(path: Path) -> float:
    """The fraction of ``path``'s pages held in the page cache (``mincore``)."""
    size = path.stat().st_size
    page = mmap.PAGESIZE
    pages = -(-size // page)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    with path.open("rb") as f, mmap.mmap(f.fileno(), size, access=mmap.ACCESS_COPY) as m:
        anchor = ctypes.c_char.from_buffer(m)  # the mapping's address; nothing is read
        vec = (ctypes.c_ubyte * pages)()
        try:
            if libc.mincore(ctypes.addressof(anchor), size, vec) != 0:
                pytest.skip(f"mincore failed: {os.strerror(ctypes.get_errno())}")
        finally:
            del anchor  # the mapping cannot close while a ctypes object exports it
        return sum(v & 1 for v in vec) / pages


def fill(store: LmdbStore, first: int, count: int) -> None:
    for i in range(first, first + count):  # one commit per value, as an import's tasks
        store.put(b"k%06d" % i, bytes([i % 251]) * VALUE)


def test_commits_inside_drop_the_pages_they_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lmdb_env, "BULK_DROP_BYTES", 1 << 20)  # drop every 4 values
    kept, dropped = LmdbStore(tmp_path / "kept"), LmdbStore(tmp_path / "dropped")
    try:
        fill(kept, 0, 32)
        with dropped.bulk_writes():
            fill(dropped, 0, 32)
            assert resident_fraction(tmp_path / "dropped" / "data.mdb") < 0.3
        assert resident_fraction(tmp_path / "kept" / "data.mdb") > 0.5
        fill(dropped, 32, 32)  # after the context, written pages stay cached again
        assert resident_fraction(tmp_path / "dropped" / "data.mdb") > 0.3
    finally:
        kept.close()
        dropped.close()


def test_the_last_exit_drops_what_the_last_commits_wrote(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "s")  # 8 MB: less than BULK_DROP_BYTES, no drop on the way
    try:
        with store.bulk_writes():
            fill(store, 0, 32)
            assert resident_fraction(tmp_path / "s" / "data.mdb") > 0.5
        assert resident_fraction(tmp_path / "s" / "data.mdb") < 0.2
    finally:
        store.close()


def test_bulk_writes_change_neither_durability_nor_what_is_read(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path / "s")
    env = store._env()  # white-box: the shared handle's flags and bulk state
    try:
        with store.bulk_writes():
            with store.bulk_writes():  # nested (two imports in one process)
                fill(store, 0, 4)
                assert env._live().flags()["sync"] is True
                assert env._live().flags()["metasync"] is True
            assert env._bulk_fd is not None  # the outer one is still open
            fill(store, 4, 4)
        assert env._bulk_fd is None
        flags = env._live().flags()
        assert (flags["sync"], flags["metasync"], flags["map_async"]) == (True, True, False)
        assert store.get(b"k000005") == bytes([5]) * VALUE  # read back from disk
    finally:
        store.close()
    again = LmdbStore(tmp_path / "s", readonly=True)
    try:
        with again.bulk_writes():  # read-only: a no-op, not an error
            assert [k for k, _ in again.scan(b"", keys_only=True)] == [
                b"k%06d" % i for i in range(8)
            ]
    finally:
        again.close()


def test_an_import_leaves_its_blocks_on_disk_not_in_the_cache(tmp_path: Path) -> None:
    data = np.random.default_rng(3).integers(1, 255, (64, 128, 256), dtype=np.uint8)
    with voxhub.open(str(tmp_path / "store"), mode="w") as hub:
        vol = hub.create_repo("d").master.create_volume("em", "uint8", max_scale=1)
        import_volume(vol, ArraySource(data, "random"), progress=False, task_bytes=1 << 20)
        assert resident_fraction(tmp_path / "store" / "data.mdb") < 0.3
        assert np.array_equal(vol[0:64, 0:128, 0:256], data)
