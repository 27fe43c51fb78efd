"""Voxel-level mutations: split-supervoxel, split (by an RLE body) and renumber.

Splits rewrite supervoxel ids only in the blocks the label index names, then update the
index, the mapping, the pyramid and the mutation log in the same transaction. A split
supervoxel is retired (it maps to 0) and its parts get fresh ids, as in DVID, so
committed ancestors keep seeing the old id with its old voxels. The caller reserves the
fresh ids and the mutation id in the same transaction (:mod:`.counters`), so a split that
does not land consumes none.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from voxhub.blocks import BlockLayout, fetch_blocks, store_blocks
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.pyramid import update_pyramid
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import index_key, mapping_key
from voxhub.datatypes.labelmap.mapping import bodies_of, set_body
from voxhub.datatypes.labelmap.maxlabel import raise_maxlabel
from voxhub.datatypes.labelmap.mutations import check_label, read_index
from voxhub.datatypes.labelmap.mutlog import Mutation, record, record_sv_split, stamp
from voxhub.datatypes.labelmap.rle import mask_in_box
from voxhub.datatypes.labelmap.synced import body_change
from voxhub.datatypes.labelmap.write import store_index
from voxhub.datatypes.sync import LabelChange
from voxhub.errors import Conflict, InvalidRequest
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedTxn


class Workspace:
    """Blocks being relabelled in one transaction: each read once, changes accumulate."""

    def __init__(self, txn: VersionedTxn, layout: BlockLayout) -> None:
        self.txn, self.layout = txn, layout
        self.blocks: dict[Vec3, np.ndarray] = {}
        self.changed: set[Vec3] = set()

    def parts(
        self, index: LabelIndex, sv: int, runs: np.ndarray
    ) -> Iterator[tuple[Vec3, np.ndarray, np.ndarray]]:
        """``(block, mask of sv, mask of sv inside runs)`` for every block holding ``sv``."""
        coords = index.blocks_of({sv})
        missing = [c for c in coords if c not in self.blocks]
        for c, block in zip(missing, fetch_blocks(self.txn, self.layout, missing), strict=True):
            self.blocks[c] = block if block is not None else self.layout.background_block()
        for c in coords:
            mask = self.blocks[c] == sv
            yield c, mask, mask & mask_in_box(runs, self.layout.grid.block_box(c))

    def measure(self, index: LabelIndex, sv: int, runs: np.ndarray) -> tuple[int, int]:
        """Voxels of ``sv`` inside and outside ``runs``."""
        inside = total = 0
        for _, mask, part in self.parts(index, sv, runs):
            inside += int(part.sum())
            total += int(mask.sum())
        return inside, total - inside

    def relabel(
        self, index: LabelIndex, sv: int, runs: np.ndarray, split_id: int, remain_id: int
    ) -> None:
        """``sv`` inside ``runs`` becomes ``split_id``, the rest ``remain_id`` (index too)."""
        for c, mask, part in list(self.parts(index, sv, runs)):
            n_in, n_all = int(part.sum()), int(mask.sum())
            block = self.blocks[c]
            block[part] = split_id
            block[mask & ~part] = remain_id
            self.changed.add(c)
            index.add(c, sv, -n_all)
            if n_in:
                index.add(c, split_id, n_in)
            if n_all > n_in:
                index.add(c, remain_id, n_all - n_in)

    def commit(self, config: ImageConfig, layouts: Sequence[BlockLayout]) -> None:
        new = {c: self.blocks[c] for c in sorted(self.changed)}
        store_blocks(self.txn, layouts[0], new)
        update_pyramid(self.txn, config, layouts, new, downsample_labels)


def check_unused(txn: VersionedTxn, label: int, what: str) -> None:
    """Refuse an id a caller chose for new voxels if it is in use at this version: a body
    (it has an index) or a supervoxel (it has a mapping, retired ones included)."""
    if txn.get(index_key(label)) is not None or txn.get(mapping_key(label)) is not None:
        raise Conflict(f"{what} {label} is already in use at this version; choose an unused id")


def _retire(txn: VersionedTxn, sv: int) -> None:
    txn.put(mapping_key(sv), (0).to_bytes(8, "big"))


def split_supervoxel(
    txn: VersionedTxn,
    config: ImageConfig,
    layouts: Sequence[BlockLayout],
    sv: int,
    runs: np.ndarray,
    new_ids: tuple[int, int],
    mut: Mutation,
) -> LabelChange:
    """Split supervoxel ``sv`` into its part inside ``runs`` and the rest (``new_ids``);
    returns what changed (for the labelmap's followers)."""
    sv = check_label(sv, "supervoxel")
    body = bodies_of(txn, [sv])[sv]
    if body == 0:
        raise InvalidRequest(f"supervoxel {sv} was already split (retired)")
    index = read_index(txn, body)
    if sv not in index.supervoxel_sizes():
        raise InvalidRequest(f"supervoxel {sv} has no voxels at this version")
    work = Workspace(txn, layouts[0])
    inside, outside = work.measure(index, sv, runs)
    if inside == 0:
        raise InvalidRequest(f"the split body covers no voxel of supervoxel {sv}")
    if outside == 0:
        raise InvalidRequest(f"the split body covers all of supervoxel {sv}; nothing remains")
    work.relabel(index, sv, runs, *new_ids)
    record(
        txn, mut, "split-supervoxel", Supervoxel=sv, Body=body, SplitSupervoxel=new_ids[0],
        RemainSupervoxel=new_ids[1], Split="", SplitSize=inside, RemainSize=outside,
    )  # fmt: skip
    record_sv_split(txn, mut, sv, *new_ids)
    work.commit(config, layouts)
    _retire(txn, sv)
    for new in new_ids:
        set_body(txn, new, body)
    stamp(index, mut)
    store_index(txn, index)
    raise_maxlabel(txn, max(new_ids))
    return body_change([body], blocks=work.changed)


def ids_needed(index: LabelIndex) -> int:
    """How many fresh ids :func:`split` of the body with ``index`` may use: the new body,
    and two per supervoxel the runs could cut."""
    return 1 + 2 * len(index.supervoxel_sizes())


def split(
    txn: VersionedTxn,
    config: ImageConfig,
    layouts: Sequence[BlockLayout],
    body: int,
    runs: np.ndarray,
    fresh: Sequence[int],
    mut: Mutation,
) -> tuple[int, LabelChange]:
    """Move the voxels of ``body`` inside ``runs`` to a new body; return its id and what
    changed (for the labelmap's followers).

    ``fresh`` holds reserved ids: the first is the new body, then two per supervoxel that
    the runs cut (its inside and outside parts). Supervoxels wholly inside keep their id.
    """
    index = read_index(txn, body)
    new_body, ids = fresh[0], iter(fresh[1:])
    moved = LabelIndex(new_body)
    work = Workspace(txn, layouts[0])
    total = 0
    cut: dict[str, dict[str, int]] = {}  # DVID's SVSplits: {"sv": {"Split", "Remain"}}
    for sv in list(index.supervoxel_sizes()):
        inside, outside = work.measure(index, sv, runs)
        if inside == 0:
            continue
        total += inside
        if outside == 0:
            moved.absorb(index.take({sv}))
            set_body(txn, sv, new_body)
            continue
        split_id, remain_id = next(ids), next(ids)
        work.relabel(index, sv, runs, split_id, remain_id)
        cut[str(sv)] = {"Split": split_id, "Remain": remain_id}
        record_sv_split(txn, mut, sv, split_id, remain_id)
        moved.absorb(index.take({split_id}))
        _retire(txn, sv)
        set_body(txn, split_id, new_body)
        set_body(txn, remain_id, body)
        raise_maxlabel(txn, remain_id)
    if total == 0:
        raise InvalidRequest(f"the split body covers no voxel of label {body}")
    if index.empty:
        raise InvalidRequest(f"the split body covers all of label {body}; nothing remains")
    record(txn, mut, "split", Target=body, NewLabel=new_body, Split="", SVSplits=cut)
    work.commit(config, layouts)
    stamp(index, mut)
    stamp(moved, mut)
    store_index(txn, index)
    store_index(txn, moved)
    raise_maxlabel(txn, new_body)
    return new_body, body_change([body, new_body], blocks=work.changed)


def renumber(txn: VersionedTxn, pairs: Sequence[tuple[int, int]], muts: Sequence[Mutation]) -> None:
    """Give body ``old`` the id ``new`` for each ``(new, old)`` pair, in order: one
    mutation (and one ``renumber-complete`` record) per pair, as DVID logs it."""
    if not pairs:
        raise InvalidRequest("renumber needs at least one (new, old) pair")
    for (new, old), mut in zip(pairs, muts, strict=True):
        check_label(new, "new label")
        if new == old:
            raise InvalidRequest(f"renumber of {old} to itself")
        index = read_index(txn, old)
        if txn.get(index_key(new)) is not None:
            raise Conflict(f"label {new} already exists; renumber needs an unused id")
        moved = LabelIndex(new, index.take(set(index.supervoxel_sizes())))
        for sv in moved.supervoxel_sizes():
            set_body(txn, sv, new)
        record(txn, mut, "renumber", NewLabel=new, OrigLabel=old)
        stamp(moved, mut)
        store_index(txn, index)
        store_index(txn, moved)
        raise_maxlabel(txn, new)
