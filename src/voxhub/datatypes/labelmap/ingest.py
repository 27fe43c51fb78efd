"""Bulk ingest for pipelines that compute a segmentation offline (DVID's ``POST indices``,
``POST mappings`` and ``ingest-supervoxels``), each one transaction: all of it or nothing.

* Label indexes are stored as given (an index with no blocks deletes the body's). They
  are checked for what can be checked without reading voxels: ids, and no block counting
  more voxels than it holds. Whether they agree with the blocks and the mapping is the
  pipeline's word, as in DVID (``voxhub doctor`` recounts them; ``--repair`` rewrites).
* Mappings set the body of each supervoxel (its own id removes the mapping, 0 retires
  it, as a split does); label indexes are not touched, as in DVID.
* Supervoxel blocks replace whole blocks at one scale; pyramid levels are not derived
  (the pipeline posts them, as DVID expects). At scale 0 the label index follows the
  blocks, since voxhub keeps it exact (DVID leaves that to ``POST indices`` too, which
  then stores the same counts), and the extents grow.

Every ingest keeps the label counter above the ids it stores and raises ``maxlabel``, so
fresh ids from ``nextlabel``, cleaves and splits never meet ingested ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from voxhub.blocks import BlockLayout, fetch_blocks, put_encoded
from voxhub.blocks.pool import parallel_map
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.extents import grow_extents
from voxhub.datatypes.labelmap.counters import Counters, top_counted_id
from voxhub.datatypes.labelmap.index import LabelIndex, count_labels
from voxhub.datatypes.labelmap.mapping import bodies_of, set_body
from voxhub.datatypes.labelmap.maxlabel import raise_maxlabel
from voxhub.datatypes.labelmap.mutations import check_label
from voxhub.datatypes.labelmap.prepared import prepare_blocks
from voxhub.datatypes.labelmap.synced import (
    Notify,
    Unfollowed,
    VoxelNotify,
    body_change,
    ignore,
    mapping_change,
    voxel_change,
)
from voxhub.datatypes.labelmap.write import Deltas, apply_deltas, store_index
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedTxn, VersionedView


def _see(txn: VersionedTxn, counters: Counters, ids: Sequence[int]) -> None:
    top = top_counted_id(np.array(ids, dtype=np.uint64))
    if top:
        counters.see(txn, top)
        raise_maxlabel(txn, top)


def check_indices(config: ImageConfig, indices: Sequence[LabelIndex]) -> None:
    """Refuse, naming it, a repeated body, a label 0 or a block counting more voxels than
    a block holds."""
    volume = int(np.prod(config.block_shape))
    seen: set[int] = set()
    for index in indices:
        body = check_label(index.body, "label index label")
        if body in seen:
            raise InvalidRequest(f"label {body} has two label indexes in one ingest")
        seen.add(body)
        for coord, counts in index.blocks.items():
            for sv, n in counts.items():
                check_label(sv, f"supervoxel in block {coord[::-1]} of label {body}")
                if n < 1:
                    raise InvalidRequest(f"label {body}, block {coord[::-1]}: sv {sv} counts {n}")
            total = sum(counts.values())
            if total > volume:
                raise InvalidRequest(
                    f"label {body}, block {coord[::-1]} counts {total} voxels,"
                    f" more than the {volume} a block holds"
                )


def ingest_indices(
    view: VersionedView,
    config: ImageConfig,
    counters: Counters,
    indices: Sequence[LabelIndex],
    notify: Notify = ignore,
) -> None:
    """Store ``indices`` (an empty one deletes the body's index), all or none; the
    labelmap's followers learn that those bodies' supervoxels may have changed."""
    check_indices(config, indices)
    view.check_writable()
    ids = [i for index in indices for i in (index.body, *index.supervoxel_sizes())]

    def run(txn: VersionedTxn) -> None:
        for index in indices:
            store_index(txn, index)
        _see(txn, counters, ids)
        notify(txn, body_change([index.body for index in indices]))

    view.transact(run)


def ingest_mappings(
    view: VersionedView, counters: Counters, bodies: dict[int, int], notify: Notify = ignore
) -> None:
    """Map each supervoxel of ``bodies`` to its body (0 retires it), all or none."""
    for sv, body in bodies.items():
        check_label(sv, "supervoxel")
        if isinstance(body, bool) or not isinstance(body, int) or not 0 <= body < 2**64:
            raise InvalidRequest(f"body of supervoxel {sv} must be a uint64, got {body!r}")
    view.check_writable()

    def run(txn: VersionedTxn) -> None:
        before = bodies_of(txn, bodies)
        for sv, body in bodies.items():
            set_body(txn, sv, body)
        _see(txn, counters, [*bodies, *bodies.values()])
        notify(txn, mapping_change(txn, before, bodies))

    view.transact(run)


def ingest_blocks(
    view: VersionedView,
    layouts: Sequence[BlockLayout],
    counters: Counters,
    scale: int,
    blocks: dict[Vec3, np.ndarray],
    notify: VoxelNotify = None,
) -> None:
    """Replace the whole blocks ``blocks`` (``{(z, y, x): supervoxel ids}``) at ``scale``;
    ``notify`` (when something follows the labelmap) gets the scale-0 change.

    The blocks are counted and encoded before the transaction (:mod:`.prepared`)."""
    layout = layouts[scale]
    for coord, block in blocks.items():
        if block.shape != layout.block_shape:
            raise InvalidRequest(f"block {coord[::-1]} has shape {block.shape}")
    view.check_writable()
    coords = list(blocks)
    ready = prepare_blocks(layout, lambda i: blocks[coords[i]], len(coords), None)
    tops = [p.counted for p in ready]
    top = max((p.top for p in ready), default=0)  # maxlabel, as writes: ids >= 2**63 too

    def run(txn: VersionedTxn) -> None:
        if isinstance(notify, Unfollowed):
            notify.check(txn)
        old: list[np.ndarray | None] = []
        if scale == 0 and coords:
            old = index_blocks(txn, layout, coords, [p.counts for p in ready])
            grow_extents(txn, _cover(layout, coords))
        put_encoded(txn, layout, {c: p.value for c, p in zip(coords, ready, strict=True)})
        _see(txn, counters, tops)
        raise_maxlabel(txn, top)
        if notify is not None and not isinstance(notify, Unfollowed) and old:
            after = [blocks[c] for c in coords]
            notify(txn, voxel_change(txn, layout, coords, old, after))

    view.transact(run)


def index_blocks(
    txn: VersionedTxn,
    layout: BlockLayout,
    coords: Sequence[Vec3],
    counts: Sequence[dict[int, int]],
) -> list[np.ndarray | None]:
    """Move the label indexes from what the scale-0 blocks at ``coords`` hold now to
    ``counts`` (their new ``{supervoxel: voxels}``, before they are stored); returns
    what they held (``None``: absent)."""
    old = fetch_blocks(txn, layout, coords)
    present = [(i, block) for i, block in enumerate(old) if block is not None]
    was = dict(zip(
        [i for i, _ in present],
        parallel_map(lambda item: count_labels(item[1]), present),
        strict=True,
    ))  # fmt: skip
    deltas: Deltas = defaultdict(list)
    for i, (coord, now) in enumerate(zip(coords, counts, strict=True)):
        before = was.get(i, {})
        for sv in before.keys() | now.keys():
            d = now.get(sv, 0) - before.get(sv, 0)
            if d:
                deltas[sv].append((coord, d))
    apply_deltas(txn, deltas)
    return old


def _cover(layout: BlockLayout, coords: list[Vec3]) -> Box:
    lo = np.min(np.array(coords), axis=0)
    hi = np.max(np.array(coords), axis=0) + 1
    start = layout.grid.block_box((int(lo[0]), int(lo[1]), int(lo[2]))).start
    stop = layout.grid.block_box((int(hi[0]) - 1, int(hi[1]) - 1, int(hi[2]) - 1)).stop
    return Box(start, stop)
