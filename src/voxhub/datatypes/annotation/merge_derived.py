"""Derived data at a merge node, recomputed from what changed between the parents only.

At the merge node each element block is one parent's or the three-way merge of the
parents' (:mod:`.merge`). Derived keys the parents agree on are right there too: equal
references into a block mean every source's relationships into it agree; an equal filing
means an equal block on equal voxels; an equal index means no element came or went on
that supervoxel. So only the keys that differ are recomputed:

* **references** into a block whose references differ: the union of the parents'
  entries, each kept if its source element at the merge node still points at the target;
* **filings** of blocks whose elements or filing differ: looked up in the labelmap at
  the merge node;
* **indexes** of supervoxels whose index differs or that those filings name (before or
  after): the union of the parents' entries and of the new filings' entries, each kept
  if the merge node's filing puts that element on that supervoxel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxhub.datatypes.annotation.codec import decode_pairs
from voxhub.datatypes.annotation.derived import pairs_view, write_pairs
from voxhub.datatypes.annotation.elements import Elements, key_positions
from voxhub.datatypes.annotation.keys import (
    BLOCK,
    FILING,
    INDEX,
    REFS,
    block_of,
    filing_tkey,
    index_tkey,
    refs_tkey,
    sv_of,
)
from voxhub.datatypes.annotation.stored import blocks_of, read_blocks
from voxhub.datatypes.sync import LabelSource
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedReader, VersionedTxn


class _Child:
    """Element blocks and filings at the merge node, read once each."""

    def __init__(self, txn: VersionedTxn, shape: Vec3) -> None:
        self.txn, self.shape = txn, shape
        self.blocks: dict[Vec3, Elements] = {}
        self.filings: dict[Vec3, tuple[np.ndarray, np.ndarray]] = {}

    def block(self, block: Vec3) -> Elements:
        if block not in self.blocks:
            found = read_blocks(self.txn, [block])
            self.blocks[block] = found.get(block, Elements.empty())
        return self.blocks[block]

    def filing(self, block: Vec3) -> tuple[np.ndarray, np.ndarray]:
        if block not in self.filings:
            self.filings[block] = decode_pairs(self.txn.get(filing_tkey(block)), "<u8")
        return self.filings[block]

    def of_keys(self, keys: np.ndarray) -> list[tuple[Vec3, np.ndarray]]:
        """``(block, indices into keys)`` for the blocks of position ``keys``."""
        rows = blocks_of(key_positions(keys), self.shape)
        out: dict[Vec3, list[int]] = {}
        for i, r in enumerate(rows.tolist()):
            out.setdefault((r[0], r[1], r[2]), []).append(i)
        return [(b, np.asarray(idx, np.int64)) for b, idx in out.items()]


def repair_derived(
    txn: VersionedTxn,
    shape: Vec3,
    labels: LabelSource | None,
    parents: Sequence[VersionedReader],
    changed: set[bytes],
) -> None:
    """Recompute, in ``txn`` at the merge node, the derived keys the parents disagree on
    (see the module docstring); ``changed``: the tkeys that differ between them."""
    child = _Child(txn, shape)
    by_class: dict[bytes, list[bytes]] = {}
    for tkey in changed:
        by_class.setdefault(tkey[:1], []).append(tkey)
    for tkey in by_class.get(REFS, []):
        _repair_refs(child, parents, block_of(tkey))
    if labels is None:
        return
    refiled = sorted({block_of(t) for t in by_class.get(BLOCK, []) + by_class.get(FILING, [])})
    svs = {sv_of(t) for t in by_class.get(INDEX, [])}
    for parent in parents:
        for block in refiled:
            svs.update(decode_pairs(parent.get(filing_tkey(block)), "<u8")[1].tolist())
    for block in refiled:
        elements = child.block(block)
        keys = elements.keys()
        found = labels.supervoxels_at(elements.pos.astype(np.int64)).astype(np.uint64)
        write_pairs(txn, filing_tkey(block), keys, found)
        child.filings[block] = (keys, found)
        svs.update(found.tolist())
    svs.discard(0)
    fresh = {b: child.filings[b] for b in refiled}
    for sv in sorted(svs):
        _repair_index(child, parents, sv, fresh)


def _repair_refs(child: _Child, parents: Sequence[VersionedReader], block: Vec3) -> None:
    tkey = refs_tkey(block)
    pairs = [decode_pairs(p.get(tkey), "<i8") for p in parents]
    targets = np.concatenate([t for t, _ in pairs])
    sources = np.concatenate([s for _, s in pairs])
    candidates = np.unique(pairs_view(targets, sources))
    ints = candidates.view(np.int64).reshape(-1, 2)
    keep = np.zeros(len(ints), bool)
    for src_block, idx in child.of_keys(ints[:, 1]):
        elements = child.block(src_block)
        held = pairs_view(elements.rel_to_keys(), elements.keys()[elements.rel_owner])
        keep[idx] = np.isin(candidates[idx], held)
    write_pairs(child.txn, tkey, ints[keep, 0], ints[keep, 1])


def _repair_index(
    child: _Child,
    parents: Sequence[VersionedReader],
    sv: int,
    fresh: dict[Vec3, tuple[np.ndarray, np.ndarray]],
) -> None:
    tkey = index_tkey(sv)
    parts = [decode_pairs(p.get(tkey), "u1")[0] for p in parents]
    parts += [keys[svs == sv] for keys, svs in fresh.values()]
    candidates = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
    keep = np.zeros(len(candidates), bool)
    kinds = np.zeros(len(candidates), np.uint8)
    for block, idx in child.of_keys(candidates):
        fkeys, fsvs = child.filing(block)
        mine = fkeys[fsvs == sv]
        keep[idx] = np.isin(candidates[idx], mine)
        elements = child.block(block)
        at = np.searchsorted(elements.keys(), candidates[idx])
        at = np.minimum(at, max(len(elements) - 1, 0))
        if len(elements):
            kinds[idx] = elements.kind[at]
    write_pairs(child.txn, tkey, candidates[keep], kinds[keep])
