"""One transaction's edits of element blocks, and the derived data that follows them.

An :class:`Edits` session reads each block once, lets the write operations
(:mod:`.write`) replace blocks, and on :meth:`Edits.finish` stores the changed blocks
and brings the derived data up to date in the same transaction:

* *references* (``0x04 | block``): for every relationship ``A → B``, the pair
  ``(B, A)`` filed under B's block, so that deleting or moving B finds every element
  pointing at it, listed in B's ``Rels`` or not;
* the *tag index* of the touched elements that carry tags (:mod:`.tags`);
* when the instance syncs to a labelmap, each changed block's *filing* (supervoxel of
  each element) and the *index* of every supervoxel that gained or lost elements.

The bodies whose elements changed are returned for the instance's followers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voxhub.datatypes.annotation.codec import decode_pairs, encode_block, encode_pairs
from voxhub.datatypes.annotation.elements import Elements, concat, key_positions, pos_keys
from voxhub.datatypes.annotation.keys import block_tkey, filing_tkey, index_tkey, refs_tkey
from voxhub.datatypes.annotation.stored import blocks_of, read_blocks
from voxhub.datatypes.annotation.tags import update_tags
from voxhub.datatypes.sync import LabelSource
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedTxn


def pairs_view(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a[i], b[i])`` as one array that ``np.isin``/``np.unique`` sort fast.

    Each pair's two int64 become one complex128 (numpy sorts complex numbers by real,
    then imaginary part). Position keys and kinds are below ``2**60``, whose bit patterns
    read as finite, positive doubles ordered like the integers, so equal pairs are equal
    numbers and distinct ones distinct (a structured dtype would sort ten times slower).
    """
    out = np.empty((len(a), 2), np.int64)
    out[:, 0], out[:, 1] = a, b
    return out.view(np.complex128).reshape(-1)


def pair_parts(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pairs_view`."""
    ints = np.ascontiguousarray(pairs).view(np.int64).reshape(-1, 2)
    return ints[:, 0], ints[:, 1]


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
        self.after[block] = elements
        self.touched.setdefault(block, []).append(np.asarray(touched, np.int64))

    def blocks_of(self, pos: np.ndarray) -> list[Vec3]:
        return _blocks(pos, self.shape)

    # -- finishing -------------------------------------------------------------------------
    def finish(self) -> frozenset[int]:
        """Store the changed blocks and update references, filings and indexes; return
        the bodies whose elements changed (empty when not synced)."""
        changed = [b for b, new in self.after.items() if not new.same_as(self.before[b])]
        olds, news = [], []
        for b in changed:
            new = self.after[b]
            if len(new):
                self.txn.put(block_tkey(b), encode_block(new))
            else:
                self.txn.delete(block_tkey(b))
            keys = np.unique(np.concatenate(self.touched[b]))
            old = self.before[b]
            olds.append(old.take(np.flatnonzero(np.isin(old.keys(), keys, assume_unique=True))))
            news.append(new.take(np.flatnonzero(np.isin(new.keys(), keys, assume_unique=True))))
        self._update_refs(concat(olds), concat(news))
        update_tags(self.txn, changed, olds, news)
        if self.labels is None:
            return frozenset()
        return self._update_filing(changed, olds, news)

    def _update_refs(self, olds: Elements, news: Elements) -> None:
        """Drop the references of relationships that went, add those that came."""
        old_p = pairs_view(olds.rel_to_keys(), olds.keys()[olds.rel_owner])
        new_p = pairs_view(news.rel_to_keys(), news.keys()[news.rel_owner])
        gone = old_p[~np.isin(old_p, new_p)]
        came = new_p[~np.isin(new_p, old_p)]
        if not len(gone) and not len(came):
            return
        both = np.concatenate([gone, came])
        is_came = np.arange(len(both)) >= len(gone)
        blocks = blocks_of(key_positions(pair_parts(both)[0]), self.shape)
        for block, idx in group_rows(blocks):
            tkey = refs_tkey(block)
            tgt, src = decode_pairs(self.txn.get(tkey), "<i8")
            current = pairs_view(tgt, src)
            mine = both[idx]
            add = is_came[idx]
            current = current[~np.isin(current, mine[~add])]
            current = np.unique(np.concatenate([current, mine[add]]))
            write_pairs(self.txn, tkey, *pair_parts(current))

    def _update_filing(
        self, changed: list[Vec3], olds: list[Elements], news: list[Elements]
    ) -> frozenset[int]:
        """Re-file the touched elements of the changed blocks and update the indexes."""
        assert self.labels is not None
        filings = [decode_pairs(self.txn.get(filing_tkey(b)), "<u8") for b in changed]
        # supervoxels of new positions, looked up together (one read per label block)
        unknown = [
            ~np.isin(new.keys(), f[0], assume_unique=True)
            for new, f in zip(news, filings, strict=True)
        ]
        wanted = [new.pos[u] for new, u in zip(news, unknown, strict=True)]
        looked = (
            self.labels.supervoxels_at(np.concatenate(wanted).astype(np.int64))
            if wanted and sum(len(w) for w in wanted)
            else np.zeros(0, np.uint64)
        )
        at = 0
        gone_keys: list[np.ndarray] = []
        gone_svs: list[np.ndarray] = []
        came: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for block, old, new, (fkeys, fsvs), u in zip(
            changed, olds, news, filings, unknown, strict=True
        ):
            new_keys = new.keys()
            svs = np.zeros(len(new), np.uint64)
            svs[~u] = fsvs[np.searchsorted(fkeys, new_keys[~u])]
            svs[u] = looked[at : at + int(u.sum())]
            at += int(u.sum())
            keep = ~np.isin(fkeys, old.keys(), assume_unique=True)
            keys = np.concatenate([fkeys[keep], new_keys])
            values = np.concatenate([fsvs[keep], svs])
            order = np.argsort(keys, kind="stable")
            write_pairs(self.txn, filing_tkey(block), keys[order], values[order])
            # an element leaves its index if it went or changed kind; joins it likewise
            old_pairs = pairs_view(old.keys(), old.kind)
            new_pairs = pairs_view(new_keys, new.kind)
            left = ~np.isin(old_pairs, new_pairs, assume_unique=True)
            joined = ~np.isin(new_pairs, old_pairs, assume_unique=True)
            if left.any():
                lk = old.keys()[left]
                gone_keys.append(lk)
                gone_svs.append(fsvs[np.searchsorted(fkeys, lk)])
            if joined.any():
                came.append((new_keys[joined], new.kind[joined], svs[joined]))
        return self._update_indexes(gone_keys, gone_svs, came)

    def _update_indexes(
        self,
        gone_keys: list[np.ndarray],
        gone_svs: list[np.ndarray],
        came: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    ) -> frozenset[int]:
        assert self.labels is not None
        g_keys = np.concatenate(gone_keys) if gone_keys else np.zeros(0, np.int64)
        g_svs = np.concatenate(gone_svs) if gone_svs else np.zeros(0, np.uint64)
        c_keys = np.concatenate([c[0] for c in came]) if came else np.zeros(0, np.int64)
        c_kinds = np.concatenate([c[1] for c in came]) if came else np.zeros(0, np.uint8)
        c_svs = np.concatenate([c[2] for c in came]) if came else np.zeros(0, np.uint64)
        touched = np.unique(np.concatenate([g_svs, c_svs]))
        touched = touched[touched != 0]
        apply_index_changes(self.txn, touched, g_keys, g_svs, c_keys, c_kinds, c_svs)
        if not len(touched):
            return frozenset()
        bodies = self.labels.bodies_of(touched)
        return frozenset(int(b) for b in np.unique(bodies) if b)


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


def group_ids(ids: np.ndarray) -> dict[int, np.ndarray]:
    """Indices of each distinct value of ``ids``."""
    if not len(ids):
        return {}
    order = np.argsort(ids, kind="stable")
    unique, starts = np.unique(ids[order], return_index=True)
    ends = [*starts[1:].tolist(), len(ids)]
    pieces = zip(unique.tolist(), starts.tolist(), ends, strict=True)
    return {int(u): order[s:e] for u, s, e in pieces}


def write_pairs(txn: VersionedTxn, tkey: bytes, keys: np.ndarray, values: np.ndarray) -> None:
    """Store a pairs value, or delete the key when there are none."""
    if len(keys):
        txn.put(tkey, encode_pairs(keys, values))
    else:
        txn.delete(tkey)


def apply_index_changes(
    txn: VersionedTxn,
    svs: np.ndarray,
    g_keys: np.ndarray,
    g_svs: np.ndarray,
    c_keys: np.ndarray,
    c_kinds: np.ndarray,
    c_svs: np.ndarray,
) -> None:
    """Remove ``g_keys`` from the index of ``g_svs`` and add ``c_keys`` (with kinds) to
    that of ``c_svs``, for each supervoxel of ``svs``."""
    gone, added = group_ids(g_svs), group_ids(c_svs)
    none = np.zeros(0, np.int64)
    for sv in svs.tolist():
        tkey = index_tkey(sv)
        keys, kinds = decode_pairs(txn.get(tkey), "u1")
        drop = np.isin(keys, g_keys[gone.get(sv, none)])
        add = added.get(sv, none)
        keys = np.concatenate([keys[~drop], c_keys[add]])
        kinds = np.concatenate([kinds[~drop], c_kinds[add]])
        order = np.argsort(keys, kind="stable")
        write_pairs(txn, tkey, keys[order], kinds[order])
