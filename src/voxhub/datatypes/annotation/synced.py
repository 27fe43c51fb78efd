"""An annotation following a labelmap: re-filing elements when voxels change, the
elements of a body for labelsz, and rebuilding the derived data from scratch.

The derived data (keys 0x02 filing, 0x03 supervoxel index) file each element under the
supervoxel at its position, so a merge, cleave or renumber (which change the mapping,
not the voxels) changes nothing here: a body's elements are those of its supervoxels.
Only a change of supervoxel *voxels* (``LabelChange.voxel_blocks``) re-files the
elements of the annotation blocks it meets, in the labelmap's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.annotation.codec import decode_pairs
from voxhub.datatypes.annotation.config import block_shape
from voxhub.datatypes.annotation.derived import (
    apply_index_changes,
    pair_parts,
    pairs_view,
    write_pairs,
)
from voxhub.datatypes.annotation.edits import group_rows
from voxhub.datatypes.annotation.elements import KIND_CODE, key_positions
from voxhub.datatypes.annotation.keys import (
    FILING,
    INDEX,
    REFS,
    class_range,
    filing_tkey,
    refs_tkey,
    sv_of,
)
from voxhub.datatypes.annotation.stored import all_blocks, blocks_of, read_blocks
from voxhub.datatypes.sync import (
    LabelChange,
    LabelSource,
    label_source_of,
    notify_source_reset,
)
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedReader, VersionedTxn
from voxhub.versioning.records import InstanceInfo


def _annotation_blocks(change: LabelChange, labels: Vec3, mine: Vec3) -> list[Vec3]:
    """The annotation blocks meeting the changed label blocks."""
    out: set[Vec3] = set()
    for block in change.voxel_blocks:
        lo = [block[i] * labels[i] // mine[i] for i in range(3)]
        hi = [-(-(block[i] + 1) * labels[i] // mine[i]) for i in range(3)]
        for z in range(lo[0], hi[0]):
            for y in range(lo[1], hi[1]):
                for x in range(lo[2], hi[2]):
                    out.add((z, y, x))
    return sorted(out)


def refile(txn: VersionedTxn, shape: Vec3, labels: LabelSource, blocks: list[Vec3]) -> set[int]:
    """File the elements of ``blocks`` under the supervoxels now at their positions;
    returns the supervoxels that gained or lost elements."""
    found = read_blocks(txn, blocks)
    g_keys, g_svs, c_keys, c_kinds, c_svs = [], [], [], [], []
    for block in blocks:
        fkeys, fsvs = decode_pairs(txn.get(filing_tkey(block)), "<u8")
        elements = found.get(block)
        if elements is None:
            if len(fkeys):
                write_pairs(txn, filing_tkey(block), fkeys[:0], fsvs[:0])
            continue
        keys = elements.keys()
        svs = labels.supervoxels_at(elements.pos.astype(np.int64)).astype(np.uint64)
        if np.array_equal(keys, fkeys) and np.array_equal(svs, fsvs):
            continue
        write_pairs(txn, filing_tkey(block), keys, svs)
        old_sv = np.zeros(len(keys), np.uint64)
        known = np.isin(keys, fkeys)
        old_sv[known] = fsvs[np.searchsorted(fkeys, keys[known])]
        moved = ~known | (old_sv != svs)
        g_keys.append(keys[moved & known])
        g_svs.append(old_sv[moved & known])
        c_keys.append(keys[moved])
        c_kinds.append(elements.kind[moved])
        c_svs.append(svs[moved])
    if not c_keys:
        return set()
    g_k, g_s = np.concatenate(g_keys), np.concatenate(g_svs)
    c_k, c_n, c_s = np.concatenate(c_keys), np.concatenate(c_kinds), np.concatenate(c_svs)
    touched = np.unique(np.concatenate([g_s, c_s]))
    touched = touched[touched != 0]
    apply_index_changes(txn, touched, g_k, g_s, c_k, c_n, c_s)
    return {int(s) for s in touched.tolist()}


def on_label_change(
    txn: VersionedTxn, info: InstanceInfo, labels: LabelSource, change: LabelChange
) -> frozenset[int]:
    """Re-file the elements under changed voxels; the bodies whose elements changed."""
    bodies = set(change.bodies)
    if change.voxel_blocks:
        shape = block_shape(info.config)
        blocks = _annotation_blocks(change, labels.block_shape, shape)
        svs = refile(txn, shape, labels, blocks)
        if svs:
            found = labels.bodies_of(np.asarray(sorted(svs), np.uint64))
            bodies.update(int(b) for b in found.tolist() if b)
    return frozenset(bodies)


@dataclass
class SyncedElements:
    """The ``ElementSource`` of an annotation inside a transaction (labelsz reads it)."""

    reader: VersionedReader
    labels: LabelSource | None

    def _entries(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        from voxhub.datatypes.annotation.instance import index_keys

        if self.labels is None:
            return np.zeros(0, np.int64), np.zeros(0, np.uint8)
        return index_keys(self.reader, self.labels.supervoxels_of(body))

    def kinds_of_body(self, body: int) -> dict[str, int]:
        from voxhub.datatypes.annotation.elements import KINDS

        _, kinds = self._entries(body)
        counts = np.bincount(kinds, minlength=len(KINDS))
        return {KINDS[k]: int(n) for k, n in enumerate(counts.tolist()) if n}

    def bodies(self) -> list[int]:
        """Every body holding elements (from the supervoxels with an index), ascending:
        what a full recount walks, rather than every body of the labelmap."""
        if self.labels is None:
            return []
        svs = [sv_of(t) for t, _ in self.reader.scan(*class_range(INDEX), keys_only=True)]
        if not svs:
            return []
        found = self.labels.bodies_of(np.asarray(svs, np.uint64))
        return sorted({int(b) for b in found.tolist() if b})

    def positions_of_body(self, body: int, kind: str) -> np.ndarray:
        keys, kinds = self._entries(body)
        code = KIND_CODE.get(kind)
        if code is None:
            return np.zeros((0, 3), np.int64)
        return key_positions(keys[kinds == code]).astype(np.int64)


def element_source(
    txn: VersionedTxn, info: InstanceInfo, labels: LabelSource | None
) -> SyncedElements:
    return SyncedElements(txn, labels)


def rebuild(txn: VersionedTxn, shape: Vec3, labels: LabelSource | None) -> set[int]:
    """Drop every reference, filing and index and derive them anew from the elements
    (filings and indexes only if synced); returns the supervoxels holding elements."""
    for cls in (REFS, FILING, INDEX):
        for tkey, _ in list(txn.scan(*class_range(cls), keys_only=True)):
            txn.delete(tkey)
    keys, kinds, svs, targets, sources = [], [], [], [], []
    for block, elements in list(all_blocks(txn)):
        k = elements.keys()
        targets.append(elements.rel_to_keys())
        sources.append(k[elements.rel_owner])
        if labels is None:
            continue
        s = labels.supervoxels_at(elements.pos.astype(np.int64)).astype(np.uint64)
        write_pairs(txn, filing_tkey(block), k, s)
        keys.append(k)
        kinds.append(elements.kind)
        svs.append(s)
    if targets:
        pairs = np.unique(pairs_view(np.concatenate(targets), np.concatenate(sources)))
        tgt, src = pair_parts(pairs)
        for block, idx in group_rows(blocks_of(key_positions(tgt), shape)):
            write_pairs(txn, refs_tkey(block), tgt[idx], src[idx])
    if not keys:
        return set()
    c_k, c_n, c_s = np.concatenate(keys), np.concatenate(kinds), np.concatenate(svs)
    touched = np.unique(c_s)
    touched = touched[touched != 0]
    none = np.zeros(0, np.int64)
    apply_index_changes(txn, touched, none, none.astype(np.uint64), c_k, c_n, c_s)
    return {int(s) for s in touched.tolist()}


def build_synced(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> None:
    """Rebuild the filings and indexes at ``node_uuid`` in one transaction (``POST sync``)."""
    view = access.catalog.view(node_uuid, info.name)
    shape = block_shape(info.config)

    def run(txn: VersionedTxn) -> None:
        labels = label_source_of(txn, access, node_uuid, info)
        rebuild(txn, shape, labels)
        # Every body may have changed (another labelmap, or none): followers (labelsz)
        # recount all of theirs, also those that now have no element, in this transaction.
        notify_source_reset(txn, access, node_uuid, info)

    view.transact(run)
