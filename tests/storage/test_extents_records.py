"""Extents are records that parallel writers add without conflicting (imageblk.extents)."""

from __future__ import annotations

import threading
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.imageblk.extents import grow_extents, read_extents, set_extents
from voxhub.datatypes.imageblk.keys import KEY_EXTENTS, encode_extents
from voxhub.datatypes.slots import SLOTS, slot_of
from voxhub.geometry import Box
from voxhub.storage import MemoryStore
from voxhub.storage.base import KVStore
from voxhub.testing.seaweed import SeaweedServer
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.protocols import VersionedTxn, VersionedView


def _view(store: KVStore) -> VersionedView:
    catalog = Catalog(store)
    root = catalog.create_repo("extents").root
    catalog.create_instance(root, "em", "test", {})
    return catalog.view(root, "em")


boxes = st.builds(
    lambda z, y, x, d, h, w: Box((z, y, x), (z + d, y + h, x + w)),
    *[st.integers(-50, 50)] * 3,
    *[st.integers(1, 20)] * 3,
)


@settings(max_examples=30, deadline=None)
@given(st.lists(boxes, min_size=1, max_size=3 * SLOTS))
def test_extents_are_the_union_of_every_write_and_stay_few(written: list[Box]) -> None:
    view = _view(MemoryStore())
    union = written[0]
    for box in written:
        view.transact(lambda txn, box=box: grow_extents(txn, box))
        union = union.union(box)
        assert read_extents(view) == union
    assert len(list(view.scan(bytes([KEY_EXTENTS]), bytes([KEY_EXTENTS + 1])))) <= SLOTS
    view.transact(lambda txn: set_extents(txn, Box((0, 0, 0), (1, 1, 1))))
    assert read_extents(view) == Box((0, 0, 0), (1, 1, 1))


@pytest.mark.s3
def test_parallel_slabs_growing_the_extents_do_not_conflict(seaweed: SeaweedServer) -> None:
    store = seaweed.open_store(f"extents-{uuid.uuid4().hex}")
    view = _view(store)
    runs = 0
    # the two slabs' boxes use different slots (what the test is about)
    assert slot_of(KEY_EXTENTS, encode_extents(Box((0, 0, 0), (8, 8, 8)))) != slot_of(
        KEY_EXTENTS, encode_extents(Box((8, 0, 0), (16, 8, 8)))
    )

    def other_slab() -> None:
        view.transact(lambda txn: grow_extents(txn, Box((8, 0, 0), (16, 8, 8))))

    def slab(txn: VersionedTxn) -> None:
        nonlocal runs
        runs += 1
        grow_extents(txn, Box((0, 0, 0), (8, 8, 8)))
        if runs == 1:  # another slab commits between this one's reads and its commit
            thread = threading.Thread(target=other_slab)
            thread.start()
            thread.join()

    view.transact(slab)
    assert runs == 1  # one shared extents key would have made this slab run again
    assert read_extents(view) == Box((0, 0, 0), (16, 8, 8))
    store.close()
