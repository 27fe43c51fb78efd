"""Reads through the real versioned view on LMDB (values decoded as views into the map,
inside the read transaction) and on memory: any box at a child node and at its committed
parent equals a numpy reference, across partial blocks, absent blocks, blocks the child
rewrote, and blocks the child deleted (tombstones over the parent's data)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.imageblk import ImageConfig, ImageInstance, typename_for
from voxhub.geometry import Box
from voxhub.storage.lmdb_store import LmdbStore
from voxhub.storage.memory import MemoryStore
from voxhub.versioning.catalog import Catalog

# uint16 32x64x64 blocks: 256 KiB frames of two zstd blocks, so reads cut by a block's far
# z face take the head-only decode; 3x2x2 blocks.
CONFIG = ImageConfig.create(dtype="uint16", block_shape=(32, 64, 64))
SHAPE = (96, 128, 128)


def _volumes() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    parent = (np.cumsum(rng.integers(0, 3, SHAPE), axis=2) + rng.integers(0, 9, SHAPE)).astype(
        np.uint16
    )
    parent[:32, :64, 64:] = 0  # a block never written
    child = parent.copy()
    child[32:64, 64:, :64] = 0  # a block the child deletes: a tombstone over the parent's
    child[40:90, 10:30, 70:120] = 4242  # a partial rewrite across blocks
    child[64:, :64, :64] = rng.integers(1, 60000, (32, 64, 64))  # a whole block rewritten
    return parent, child


PARENT, CHILD = _volumes()


def _instances() -> list[tuple[ImageInstance, ImageInstance]]:
    pairs = []
    for store in (MemoryStore(), LmdbStore(tempfile.mkdtemp(prefix="voxhub-read-versions-"))):
        catalog = Catalog(store)
        root = catalog.create_repo("reads").root
        catalog.create_instance(root, "grey", typename_for(CONFIG.dtype), CONFIG.to_json())
        parent = ImageInstance(catalog.view(root, "grey"), CONFIG, "grey")
        parent.write((0, 0, 0), PARENT)
        catalog.commit(root)
        child_uuid = catalog.newversion(root).uuid
        child = ImageInstance(catalog.view(child_uuid, "grey"), CONFIG, "grey")
        child.write((0, 0, 0), CHILD)
        pairs.append((parent, child))
    return pairs


INSTANCES = _instances()


def _expected(ref: np.ndarray, box: Box) -> np.ndarray:
    out = np.zeros(box.shape, ref.dtype)
    inside = box.intersect(Box((0, 0, 0), SHAPE))
    if not inside.empty:
        out[inside.relative_to(box.start)] = ref[inside.relative_to((0, 0, 0))]
    return out


@settings(max_examples=40, deadline=None)
@given(
    start=st.tuples(st.integers(-20, 110), st.integers(-20, 140), st.integers(-20, 140)),
    shape=st.tuples(st.integers(1, 110), st.integers(1, 150), st.integers(1, 150)),
)
def test_any_box_at_the_child_and_at_the_parent_equals_numpy(
    start: tuple[int, int, int], shape: tuple[int, int, int]
) -> None:
    box = Box.from_shape(shape, start)
    for parent, child in INSTANCES:
        np.testing.assert_array_equal(child.read(box), _expected(CHILD, box), err_msg="child")
        np.testing.assert_array_equal(parent.read(box), _expected(PARENT, box), err_msg="parent")


def test_the_deleted_block_is_a_tombstone_and_the_parent_still_reads_it() -> None:
    box = Box((32, 64, 0), (64, 128, 64))
    for parent, child in INSTANCES:
        assert not child.read(box).any()
        np.testing.assert_array_equal(parent.read(box), PARENT[32:64, 64:, :64])
        assert PARENT[32:64, 64:, :64].any()


def test_lmdb_hands_the_read_views_into_its_map() -> None:
    _, child = INSTANCES[1]
    keys = [b"nothing-here"]
    kinds: list[type] = []

    def use(values: Sequence[bytes | memoryview | None]) -> int:
        kinds.extend(type(v) for v in values)
        return len(values)

    view = child.view
    tkeys = [k for k, _ in view.scan(b"", None, keys_only=True)][:3] + keys
    assert view.with_values(tkeys, use) == 4
    assert kinds == [memoryview, memoryview, memoryview, type(None)]
