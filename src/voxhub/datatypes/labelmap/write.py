"""Writing supervoxels: blocks, label pyramid, extents, maxlabel and every affected body's
label index change in one transaction, so the index is always exact."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from voxhub.blocks import BlockLayout, fetch_blocks, store_blocks
from voxhub.blocks.pool import parallel_map
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.pyramid import update_pyramid
from voxhub.datatypes.imageblk.write import grow_extents
from voxhub.datatypes.labelmap.counters import Counters, top_counted_id
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.datatypes.labelmap.index import LabelIndex, count_labels
from voxhub.datatypes.labelmap.keys import index_key
from voxhub.datatypes.labelmap.mapping import bodies_of, set_body
from voxhub.datatypes.labelmap.maxlabel import raise_maxlabel
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedTxn, VersionedView

#: per-block changes of one supervoxel: ``[(block, delta voxels)]``
Deltas = dict[int, list[tuple[Vec3, int]]]


def write_labels(
    view: VersionedView,
    config: ImageConfig,
    layouts: Sequence[BlockLayout],
    offset: Vec3,
    data: np.ndarray,
    counters: Counters,
) -> None:
    """Write supervoxel ids ``data`` (uint64) with its ``[0,0,0]`` at ``offset``, scale 0.

    The label counter is raised above the written ids in the same transaction, so it
    never lags the data and a write that does not land moves nothing (see below).
    """
    view.check_writable()
    box = Box.from_shape((data.shape[0], data.shape[1], data.shape[2]), offset)
    if box.empty:
        return
    layout = layouts[0]
    coords = list(layout.grid.blocks_in(box))
    top = int(data.max())  # outside the transaction: it holds the store's write lock
    # Only a write bringing ids the counter has not passed yet touches its key; most
    # writes bring none (ids come from reservations or were written before), so parallel
    # slab writers do not meet on it. ``covers`` is read before the transaction and stays
    # true once true (counters only grow). The writers that do raise it (typically the
    # slabs of a segmentation's first import) serialise on that one key: S3 locks it and
    # reruns a writer whose read of it went stale, LMDB serialises all writes anyway.
    # That is OK because it happens only until the counter passes the volume's largest
    # id, and it is the price of the counter and the data landing together: raised
    # before the transaction, a write that then failed left ids consumed for nothing.
    counted = top_counted_id(data, top)
    raise_counter = counted != 0 and not counters.covers(counted)

    def transaction(txn: VersionedTxn) -> None:
        old = fetch_blocks(txn, layout, coords)

        def paste(i: int) -> tuple[np.ndarray, dict[int, int], dict[int, int]]:
            before = old[i]
            bbox = layout.grid.block_box(coords[i])
            part = bbox.intersect(box)
            if part == bbox:  # wholly overwritten: one copy, no background to fill first
                block = data[part.relative_to(box.start)].copy()  # C order, writable
            else:
                block = before.copy() if before is not None else layout.background_block()
                block[part.relative_to(bbox.start)] = data[part.relative_to(box.start)]
            was = count_labels(before) if before is not None else {}
            return block, was, count_labels(block)

        results = parallel_map(paste, range(len(coords)))
        deltas: Deltas = defaultdict(list)
        for coord, (_, was, now) in zip(coords, results, strict=True):
            for sv in was.keys() | now.keys():
                d = now.get(sv, 0) - was.get(sv, 0)
                if d:
                    deltas[sv].append((coord, d))
        apply_deltas(txn, deltas)
        new = {c: r[0] for c, r in zip(coords, results, strict=True)}
        store_blocks(txn, layout, new)
        update_pyramid(txn, config, layouts, new, downsample_labels)
        grow_extents(txn, box)
        raise_maxlabel(txn, top)
        if raise_counter:
            counters.see(txn, counted)

    view.transact(transaction)


def apply_deltas(txn: VersionedTxn, deltas: Deltas) -> None:
    """Apply per-supervoxel block count changes to the indexes of their bodies."""
    if not deltas:
        return
    owner = bodies_of(txn, deltas)
    by_body: dict[int, list[tuple[int, Vec3, int]]] = defaultdict(list)
    for sv, changes in deltas.items():
        body = owner[sv]
        if body == 0:  # a retired id painted again is its own body once more
            body = sv
            set_body(txn, sv, sv)
        by_body[body].extend((sv, c, d) for c, d in changes)
    bodies = sorted(by_body)
    for body, value in zip(bodies, txn.get_many([index_key(b) for b in bodies]), strict=True):
        index = LabelIndex.decode(body, value) if value else LabelIndex(body)
        for sv, coord, d in by_body[body]:
            index.add(coord, sv, d)
        store_index(txn, index)


def store_index(txn: VersionedTxn, index: LabelIndex) -> None:
    if index.empty:
        txn.delete(index_key(index.body))
    else:
        txn.put(index_key(index.body), index.encode())
