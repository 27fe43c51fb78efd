"""Label and mutation counters under concurrent use, on LMDB and on real SeaweedFS.

Every move of a counter is a store transaction (the request's own, or a tiny one for a
bare reservation), so threads reserving ids, writing labels that raise the floor and
cleaving bodies at once must still get disjoint ids, distinct mutation ids, and leave
the label counter above every id stored.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from voxhub.client.embedded import EmbeddedHub
from voxhub.datatypes.labelmap.mutations import INITIAL_MUTATION_ID
from voxhub.versioning.counters import peek

from .conftest import Backend, destroy

BLOCK = (8, 8, 8)
THREADS = 4


def test_concurrent_reservations_writes_and_cleaves_get_disjoint_ids(backend: Backend) -> None:
    store = backend.faulty()
    hub = EmbeddedHub(store)
    repo = hub.create_repo("races")
    labels = repo.master.create_labels("seg", block_shape=BLOCK)
    # body 10*(i+1) owns supervoxels 10*(i+1) and 10*(i+1)+1, one per thread to cleave
    for i in range(THREADS):
        base = 10 * (i + 1)
        part = np.full((8, 8, 16), base, np.uint64)
        part[:, :, 8:] = base + 1
        labels[0:8, 8 * i : 8 * i + 8, 0:16] = part
        labels.merge(base, [base + 1])
    rounds = 3 if backend.name == "s3" else 10

    def work(i: int) -> tuple[list[int], list[int], list[int]]:
        lv = EmbeddedHub(store).repo(repo.root).master.labels("seg")
        reserved: list[int] = []
        written: list[int] = []
        for r in range(rounds):
            reserved.extend(lv.next_labels(2))
            fresh = 1000 * (i + 1) + r  # above the counter: this write raises it
            lv[8:16, 8 * i : 8 * i + 8, 0:8] = np.full((8, 8, 8), fresh, np.uint64)
            written.append(fresh)
        base = 10 * (i + 1)
        cleaved = lv.cleave(base, [base + 1])
        reserved.append(cleaved.cleaved_body)
        return reserved, written, [cleaved.mutation_id]

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    reserved = [x for r, _, _ in results for x in r]
    written = [x for _, w, _ in results for x in w]
    mids = [x for _, _, m in results for x in m]
    assert len(reserved) == len(set(reserved)) == THREADS * (2 * rounds + 1)
    assert len(set(mids)) == THREADS
    info = hub.catalog.instance(repo.root, "seg")
    next_label = peek(store, f"labels/{info.data_uuid}")
    assert next_label > max(written + reserved)
    # every mutation took exactly one id: the merges of the setup and the cleaves
    next_mutation = peek(store, f"mutations/{repo.root}", floor=INITIAL_MUTATION_ID + 1)
    assert next_mutation == INITIAL_MUTATION_ID + 1 + 2 * THREADS
    destroy(store)
