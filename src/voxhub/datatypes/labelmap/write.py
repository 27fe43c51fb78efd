"""Writing supervoxels: blocks, label pyramid, extents, maxlabel and every affected body's
label index change in one transaction, so the index is always exact."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from voxhub.blocks import BlockLayout, fetch_blocks, put_encoded
from voxhub.blocks.pool import parallel_map
from voxhub.blocks.write import covered, paste_into
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.pyramid import update_pyramid
from voxhub.datatypes.imageblk.write import grow_extents, mask_box
from voxhub.datatypes.labelmap.counters import Counters, top_counted_id
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.datatypes.labelmap.index import LabelIndex, count_labels
from voxhub.datatypes.labelmap.keys import index_key
from voxhub.datatypes.labelmap.mapping import bodies_of, set_body
from voxhub.datatypes.labelmap.maxlabel import raise_maxlabel
from voxhub.datatypes.labelmap.prepared import (
    Prepared,
    change_over_background,
    prepare_block,
    prepare_blocks,
    write_tops,
)
from voxhub.datatypes.labelmap.synced import (
    Unfollowed,
    VoxelNotify,
    block_change,
    collect_changes,
)
from voxhub.errors import InvalidRequest
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
    notify: VoxelNotify = None,
    mask: np.ndarray | None = None,
) -> None:
    """Write supervoxel ids ``data`` (uint64) with its ``[0,0,0]`` at ``offset``, scale 0.

    The label counter is raised above the written ids in the same transaction, so it
    never lags the data and a write that does not land moves nothing (see below).
    ``notify`` (when something follows the labelmap) gets the exact change in it.
    ``mask`` (bool, ``data``'s shape): only the voxels where it is true are written, the
    others keep their stored values (read in the transaction), and the index, pyramid,
    extents and followers change by what was written only.
    """
    view.check_writable()
    box = Box.from_shape((data.shape[0], data.shape[1], data.shape[2]), offset)
    if box.empty:
        return
    layout = layouts[0]
    coords = list(layout.grid.blocks_in(box))
    extent = box
    if mask is not None:
        if mask.shape != data.shape:
            raise InvalidRequest(f"write mask has shape {mask.shape}, the data {data.shape}")
        coords = [c for c in coords if mask[_mine(layout, c, box)].any()]
        written = mask_box(mask, offset)
        if written is None or not coords:
            return
        extent = written

    def given(i: int) -> tuple[np.ndarray, bool]:
        bbox = layout.grid.block_box(coords[i])
        mine = _mine(layout, coords[i], box)
        inside = covered(mask, mine)
        if inside:
            return data[mine], bbox.intersect(box) == bbox
        assert mask is not None
        return data[mine][mask[mine]], False  # the ids it brings: those inside

    def fill(i: int, before: np.ndarray | None) -> np.ndarray:
        bbox = layout.grid.block_box(coords[i])
        part = bbox.intersect(box)
        mine = part.relative_to(box.start)
        block = before.copy() if before is not None else layout.background_block()
        where = None if mask is None else mask[mine]
        paste_into(block, part.relative_to(bbox.start), data[mine], where)
        return block

    _write_blocks(view, config, layouts, coords, given, fill, extent, counters, notify)


def _mine(layout: BlockLayout, coord: Vec3, box: Box) -> tuple[slice, slice, slice]:
    """The part of block ``coord`` inside ``box``, as slices of an array over ``box``."""
    return layout.grid.block_box(coord).intersect(box).relative_to(box.start)


def write_label_blocks(
    view: VersionedView,
    config: ImageConfig,
    layouts: Sequence[BlockLayout],
    blocks: Mapping[Vec3, np.ndarray],
    counters: Counters,
    notify: VoxelNotify = None,
) -> None:
    """Write whole scale-0 blocks (block coordinate → uint64 block of the block shape),
    anywhere in the volume, in one transaction (DVID's ``POST blocks``): each pyramid
    parent, body index and counter is updated once, not once per block."""
    view.check_writable()
    if not blocks:
        return
    layout = layouts[0]
    coords = list(blocks)
    arrays = [blocks[c] for c in coords]
    for c, a in zip(coords, arrays, strict=True):
        if a.shape != layout.block_shape:
            raise InvalidRequest(f"block {c} has shape {a.shape}, not {layout.block_shape}")
    lo = [min(c[k] for c in coords) for k in range(3)]
    hi = [max(c[k] for c in coords) + 1 for k in range(3)]
    extent = Box(
        layout.grid.block_box((lo[0], lo[1], lo[2])).start,
        layout.grid.block_box((hi[0], hi[1], hi[2])).start,
    )

    def given(i: int) -> tuple[np.ndarray, bool]:
        return arrays[i], True

    def fill(i: int, before: np.ndarray | None) -> np.ndarray:  # pragma: no cover
        raise AssertionError("every block of POST blocks is whole")

    _write_blocks(view, config, layouts, coords, given, fill, extent, counters, notify)


def _write_blocks(
    view: VersionedView,
    config: ImageConfig,
    layouts: Sequence[BlockLayout],
    coords: list[Vec3],
    given: Callable[[int], tuple[np.ndarray, bool]],
    fill: Callable[[int, np.ndarray | None], np.ndarray],
    extent: Box,
    counters: Counters,
    notify: VoxelNotify,
) -> None:
    """One transaction writing the blocks at ``coords`` with the label index, pyramid,
    extents (grown by ``extent``), maxlabel, the label counter and the labelmap's
    followers (``notify``) following.

    ``given(i)``: the data the write brings to block ``i`` and whether that is the whole
    block; the others are ``fill(i, stored block or None)``, made in the transaction.
    Whole blocks are counted, encoded and reduced before it (:mod:`.prepared`).
    """
    layout = layouts[0]
    factor = config.downsample_factor if config.max_scale > 0 else None
    parts = [given(i) for i in range(len(coords))]
    whole = [i for i, (_, is_whole) in enumerate(parts) if is_whole]
    partial = [i for i, (_, is_whole) in enumerate(parts) if not is_whole]
    ready = dict(
        zip(
            whole,
            prepare_blocks(layout, lambda k: parts[whole[k]][0], len(whole), factor),
            strict=True,
        )
    )
    # The ids a partial block brings are its part's; what it keeps was written before.
    part_tops = parallel_map(lambda i: _tops(parts[i][0]), partial)
    top, counted = write_tops(list(ready.values()))
    top = max([top, *(t for t, _ in part_tops)])
    counted = max([counted, *(c for _, c in part_tops)])
    # Only a write bringing ids the counter has not passed yet touches its key; most
    # writes bring none (ids come from reservations or were written before), so parallel
    # slab writers do not meet on it. ``covers`` is read before the transaction and stays
    # true once true (counters only grow). The writers that do raise it (typically the
    # slabs of a segmentation's first import) serialise on that one key: S3 locks it and
    # reruns a writer whose read of it went stale, LMDB serialises all writes anyway.
    # That is OK because it happens only until the counter passes the volume's largest
    # id, and it is the price of the counter and the data landing together: raised
    # before the transaction, a write that then failed left ids consumed for nothing.
    raise_counter = counted != 0 and not counters.covers(counted)
    tell = None if isinstance(notify, Unfollowed) else notify

    def transaction(txn: VersionedTxn) -> None:
        if isinstance(notify, Unfollowed):
            notify.check(txn)  # a sync set up since the look before: rerun with changes
        old = fetch_blocks(txn, layout, coords)

        def finish(i: int) -> tuple[Prepared, dict[int, int], set[int] | None]:
            before = old[i]
            was = count_labels(before) if before is not None else {}
            if i in ready:
                done = ready[i]
                if tell is None:
                    changed = None
                elif before is None:
                    changed = change_over_background(layout, done)
                else:
                    changed = block_change(layout, before, parts[i][0])
            else:
                block = fill(i, before)
                done = prepare_block(layout, block, factor)
                changed = block_change(layout, before, block) if tell is not None else None
            return done, was, changed

        needs_work = [i for i in range(len(coords)) if old[i] is not None or i not in ready]
        worked = dict(zip(needs_work, parallel_map(finish, needs_work), strict=True))
        results = [
            worked[i] if i in worked else _fresh(layout, ready[i], tell is not None)
            for i in range(len(coords))
        ]
        deltas: Deltas = defaultdict(list)
        for coord, (done, was, _) in zip(coords, results, strict=True):
            if not was:
                for sv, n in done.counts.items():
                    deltas[sv].append((coord, n))
                continue
            now = done.counts
            for sv in was.keys() | now.keys():
                d = now.get(sv, 0) - was.get(sv, 0)
                if d:
                    deltas[sv].append((coord, d))
        apply_deltas(txn, deltas)
        put_encoded(txn, layout, {c: r[0].value for c, r in zip(coords, results, strict=True)})
        if factor is not None:
            reduced = {c: r[0].small for c, r in zip(coords, results, strict=True)}
            small = {c: b for c, b in reduced.items() if b is not None}
            update_pyramid(txn, config, layouts, small, downsample_labels, reduced=True)
        grow_extents(txn, extent)
        raise_maxlabel(txn, top)
        if raise_counter:
            counters.see(txn, counted)
        if tell is not None:
            changes = zip(coords, (r[2] for r in results), strict=True)
            tell(txn, collect_changes(txn, changes))

    view.transact(transaction)


def _fresh(
    layout: BlockLayout, done: Prepared, notified: bool
) -> tuple[Prepared, dict[int, int], set[int] | None]:
    """A prepared block written where nothing was stored."""
    return done, {}, change_over_background(layout, done) if notified else None


def _tops(part: np.ndarray) -> tuple[int, int]:
    top = int(part.max()) if part.size else 0
    return top, top_counted_id(part, top)


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
