"""One transaction's edits of element blocks, and the derived data that follows them.

An :class:`Edits` session reads each block once, lets the write operations
(:mod:`.write`) replace blocks, and on :meth:`Edits.finish` stores the changed blocks
and brings the derived data up to date in the same transaction (:mod:`.derived`):
references and the tag index (:mod:`.tags`) always, and when the instance syncs to a
labelmap each changed block's filing and the index of every supervoxel that gained or
lost elements.

A write names the positions its edits touched (:meth:`Edits.put`), so derived data is
updated for those only; a batch write that already knows the elements it changes, before
and after, hands them over with the blocks (:meth:`Edits.put_changes`). The bodies whose
elements changed are returned for the instance's followers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voxhub.datatypes.annotation.codec import encode_block
from voxhub.datatypes.annotation.derived import refile, update_refs
from voxhub.datatypes.annotation.elements import Elements, concat, pos_keys
from voxhub.datatypes.annotation.keys import block_tkey
from voxhub.datatypes.annotation.stored import blocks_of, read_blocks
from voxhub.datatypes.annotation.tags import update_tags
from voxhub.datatypes.sync import LabelSource
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedTxn


def _blocks(pos: np.ndarray, shape: Vec3) -> list[Vec3]:
    return [b for b, _ in group_rows(blocks_of(pos, shape))]


@dataclass
class Edits:
    """Block edits inside one transaction (see the module docstring)."""

    txn: VersionedTxn
    shape: Vec3
    labels: LabelSource | None
    before: dict[Vec3, Elements] = field(default_factory=dict)
    after: dict[Vec3, Elements] = field(default_factory=dict)
    #: position keys each block's edits touched: derived data is updated for those only,
    #: so a batch costs what it changes, not what its blocks already hold
    touched: dict[Vec3, list[np.ndarray]] = field(default_factory=dict)
    #: blocks given by :meth:`put_changes`, and the elements changed there
    changes: set[Vec3] = field(default_factory=set)
    changed_olds: list[Elements] = field(default_factory=list)
    changed_news: list[Elements] = field(default_factory=list)

    def load(self, blocks: list[Vec3]) -> None:
        """Read the blocks not read yet."""
        missing = [b for b in blocks if b not in self.before]
        found = read_blocks(self.txn, missing)
        for b in missing:
            self.before[b] = found.get(b, Elements.empty())

    def block(self, block: Vec3) -> Elements:
        """The block's elements as edited so far."""
        if block not in self.before:
            self.load([block])
        return self.after.get(block, self.before[block])

    def put(self, block: Vec3, elements: Elements, touched: np.ndarray) -> None:
        """Replace the block's elements; ``touched``: the position keys whose element
        may have changed (added, removed or edited)."""
        assert block not in self.changes, "a block given with its changes is final"
        self.after[block] = elements
        self.touched.setdefault(block, []).append(np.asarray(touched, np.int64))

    def put_changes(self, blocks: dict[Vec3, Elements], olds: Elements, news: Elements) -> None:
        """Replace the elements of ``blocks``, where exactly ``olds`` (stored before)
        became ``news`` (each of those blocks changes; none is edited again)."""
        for block, elements in blocks.items():
            assert block not in self.after, "a block given with its changes is its only edit"
            self.after[block] = elements
        self.changes.update(blocks)
        self.changed_olds.append(olds)
        self.changed_news.append(news)

    def blocks_of(self, pos: np.ndarray) -> list[Vec3]:
        return _blocks(pos, self.shape)

    # -- finishing -------------------------------------------------------------------------
    def finish(self) -> frozenset[int]:
        """Store the changed blocks and update references, filings and indexes; return
        the bodies whose elements changed (empty when not synced)."""
        edited = [b for b, new in self.after.items() if b not in self.changes]
        changed = sorted(
            self.changes | {b for b in edited if not self.after[b].same_as(self.before[b])}
        )
        olds, news = list(self.changed_olds), list(self.changed_news)
        for b in changed:
            new = self.after[b]
            if len(new):
                self.txn.put(block_tkey(b), encode_block(new))
            else:
                self.txn.delete(block_tkey(b))
            if b in self.changes:
                continue
            keys = np.unique(np.concatenate(self.touched[b]))
            old = self.before[b]
            olds.append(old.take(np.flatnonzero(np.isin(old.keys(), keys, assume_unique=True))))
            news.append(new.take(np.flatnonzero(np.isin(new.keys(), keys, assume_unique=True))))
        all_olds, all_news = concat(olds), concat(news)
        update_refs(self.txn, self.shape, all_olds, all_news)
        update_tags(self.txn, self.shape, all_olds, all_news)
        if self.labels is None or not changed:
            return frozenset()
        return refile(self.txn, self.shape, self.labels, changed, all_olds, all_news)


def group_rows(rows: np.ndarray) -> list[tuple[Vec3, np.ndarray]]:
    """``(row, indices of it)`` for each distinct ``(z, y, x)`` row of ``rows`` (block
    coordinates of positions, so they pack into position keys), in row order."""
    if not len(rows):
        return []
    keys = pos_keys(rows)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    ends = [*starts[1:].tolist(), len(keys)]
    firsts = rows[order[starts]].tolist()
    return [
        ((r[0], r[1], r[2]), order[a:b])
        for r, a, b in zip(firsts, starts.tolist(), ends, strict=True)
    ]
