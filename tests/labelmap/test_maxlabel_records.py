"""maxlabel is kept as records that parallel label writers add without conflicting."""

from __future__ import annotations

import threading
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.labelmap.keys import KEY_MAXLABEL
from voxhub.datatypes.labelmap.maxlabel import raise_maxlabel, read_maxlabel
from voxhub.datatypes.slots import SLOTS, slot_of
from voxhub.storage import MemoryStore
from voxhub.storage.base import KVStore
from voxhub.testing.seaweed import SeaweedServer
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.protocols import VersionedTxn, VersionedView


def _view(store: KVStore) -> VersionedView:
    catalog = Catalog(store)
    root = catalog.create_repo("maxlabel").root
    catalog.create_instance(root, "seg", "test", {})
    return catalog.view(root, "seg")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 2**64 - 1), min_size=1, max_size=3 * SLOTS))
def test_maxlabel_is_the_largest_id_raised_and_records_stay_few(ids: list[int]) -> None:
    view = _view(MemoryStore())
    for i, label in enumerate(ids):
        view.transact(lambda txn, label=label: raise_maxlabel(txn, label))
        assert read_maxlabel(view) == max(ids[: i + 1])
    assert len(list(view.scan(bytes([KEY_MAXLABEL]), bytes([KEY_MAXLABEL + 1])))) <= SLOTS


@pytest.mark.s3
def test_parallel_label_slabs_raising_maxlabel_do_not_conflict(seaweed: SeaweedServer) -> None:
    store = seaweed.open_store(f"maxlabel-{uuid.uuid4().hex}")
    view = _view(store)
    runs = 0
    # the two writers use different slots (what the test is about)
    assert slot_of(KEY_MAXLABEL, (10).to_bytes(8, "big")) != slot_of(
        KEY_MAXLABEL, (20).to_bytes(8, "big")
    )

    def slab(txn: VersionedTxn) -> None:
        nonlocal runs
        runs += 1
        raise_maxlabel(txn, 10)
        if runs == 1:  # another slab with a larger id commits in between
            other = threading.Thread(target=view.transact, args=(lambda t: raise_maxlabel(t, 20),))
            other.start()
            other.join()

    view.transact(slab)
    assert runs == 1  # one shared maxlabel key would have made this slab run again
    assert read_maxlabel(view) == 20
    store.close()
