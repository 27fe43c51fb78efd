"""The derived data of element changes, brought up to date for a whole transaction at once.

What one transaction's element writes change (:class:`~.edits.Edits`) is summed up as
``olds`` and ``news``: the elements before and after at the positions the writes
touched. From those, in a constant number of numpy steps however many blocks and
supervoxels a batch meets (a 100k-element batch meets ~500 blocks and ~2,000
supervoxels; per-block ``np.isin`` calls cost more than the data they sort):

* *references* (``0x04 | block``): for every relationship ``A → B``, the pair
  ``(B, A)`` filed under B's block, sorted;
* *filings* (``0x02 | block``): the supervoxel under each element of a block, sorted by
  position key, looked up in the labelmap only for positions not filed yet;
* *indexes* (``0x03 | supervoxel``): the position keys and kinds of the elements on a
  supervoxel, sorted by position key.

The changes are sorted and grouped once (by block or supervoxel); each stored value is
a sorted run, into which its group's additions are inserted where ``searchsorted``
puts them (and, rarely, removals dropped): per value a few cheap numpy calls, no sort of
what is stored already and no per-value ``np.isin``/``np.unique``, whose overhead
outweighs the data of one block.
"""

from __future__ import annotations

import numpy as np

from voxhub.datatypes.annotation.codec import decode_pairs, encode_pairs
from voxhub.datatypes.annotation.elements import Elements, key_positions, pos_keys
from voxhub.datatypes.annotation.keys import filing_tkey, index_tkey, refs_tkey
from voxhub.datatypes.sync import LabelSource
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedTxn


def pairs_view(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a[i], b[i])`` as one array that ``np.isin``/``np.unique``/sorts order by ``a``
    then ``b``.

    Each pair's two int64 become one complex128 (numpy sorts complex numbers by real,
    then imaginary part). Position keys, kinds and ranks are below ``2**60``, whose bit
    patterns read as finite, positive doubles ordered like the integers, so equal pairs
    are equal numbers and distinct ones distinct (a structured dtype would sort ten times
    slower).
    """
    out = np.empty((len(a), 2), np.int64)
    out[:, 0], out[:, 1] = a, b
    return out.view(np.complex128).reshape(-1)


def pair_parts(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pairs_view`."""
    ints = np.ascontiguousarray(pairs).view(np.int64).reshape(-1, 2)
    return ints[:, 0], ints[:, 1]


def not_in(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``~np.isin(a, b)``, without sorting anything when either side is empty."""
    if not len(a) or not len(b):
        return np.ones(len(a), bool)
    out: np.ndarray = ~np.isin(a, b)
    return out


def write_pairs(txn: VersionedTxn, tkey: bytes, keys: np.ndarray, values: np.ndarray) -> None:
    """Store a pairs value, or delete the key when there are none."""
    if len(keys):
        txn.put(tkey, encode_pairs(keys, values))
    else:
        txn.delete(tkey)


def block_keys_of(pos: np.ndarray, shape: Vec3) -> np.ndarray:
    """The position keys of the blocks ``(N, 3)`` zyx positions lie in (sorting them
    sorts blocks z, y, x)."""
    return pos_keys(np.floor_divide(pos.astype(np.int64), np.asarray(shape, np.int64)))


class Groups:
    """Rows grouped by an int64 ``group`` (ascending), sorted by ``key`` within a group
    (``key`` any sortable array: position keys, or (target, source) pairs)."""

    def __init__(self, group: np.ndarray, key: np.ndarray) -> None:
        by_key = np.argsort(key, kind="stable")
        self.order = by_key[np.argsort(group[by_key], kind="stable")]
        ordered = group[self.order]
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        self.ids = ordered[starts] if len(ordered) else ordered
        self._bounds = np.append(starts, len(ordered)).tolist() if len(ordered) else [0]
        self.at = {int(g): i for i, g in enumerate(self.ids.tolist())}

    def rows(self, group: int) -> np.ndarray:
        """Indices of the rows of ``group`` in key order (empty if none)."""
        i = self.at.get(group)
        if i is None:
            return self.order[:0]
        out: np.ndarray = self.order[self._bounds[i] : self._bounds[i + 1]]
        return out


def merge_run(
    keys: np.ndarray,
    values: np.ndarray,
    add_keys: np.ndarray,
    add_values: np.ndarray,
    drop: np.ndarray,
    *,
    unique: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """A sorted run with ``drop`` (keys) removed and ``add_keys`` (sorted) inserted, each
    after the equal keys already there; with ``unique``, additions already present are
    left out."""
    if len(drop) and len(keys):
        keep = ~np.isin(keys, drop)
        keys, values = keys[keep], values[keep]
    if not len(add_keys):
        return keys, values
    at = np.searchsorted(keys, add_keys, side="right")
    if unique and len(keys):
        present = keys[np.maximum(at - 1, 0)] == add_keys
        present &= at > 0
        add_keys, add_values, at = add_keys[~present], add_values[~present], at[~present]
    # the additions' places in the merged run (np.insert does this, slower: it sorts)
    where = at + np.arange(len(at))
    old = np.ones(len(keys) + len(at), bool)
    old[where] = False
    out_keys = np.empty(len(old), keys.dtype)
    out_values = np.empty(len(old), values.dtype)
    out_keys[where], out_keys[old] = add_keys, keys
    out_values[where], out_values[old] = add_values, values
    return out_keys, out_values


def update_refs(txn: VersionedTxn, shape: Vec3, olds: Elements, news: Elements) -> None:
    """Drop the references of relationships that went, add those that came."""
    old_p = pairs_view(olds.rel_to_keys(), olds.keys()[olds.rel_owner])
    new_p = pairs_view(news.rel_to_keys(), news.keys()[news.rel_owner])
    gone = old_p[not_in(old_p, new_p)]
    came = np.sort(new_p[not_in(new_p, old_p)])
    came = (
        came[np.append(True, came[1:] != came[:-1])] if len(came) else came
    )  # A may relate to B twice
    if not len(gone) and not len(came):
        return
    gone_by = Groups(block_keys_of(key_positions(pair_parts(gone)[0]), shape), gone)
    came_by = Groups(block_keys_of(key_positions(pair_parts(came)[0]), shape), came)
    blocks = np.union1d(gone_by.ids, came_by.ids)
    tkeys = [refs_tkey(b) for b in key_positions(blocks).tolist()]
    values = txn.get_many(tkeys)
    for tkey, block, value in zip(tkeys, blocks.tolist(), values, strict=True):
        current = pairs_view(*decode_pairs(value, "<i8"))
        add = came[came_by.rows(block)]
        merged, _ = merge_run(current, current, add, add, gone[gone_by.rows(block)], unique=True)
        write_pairs(txn, tkey, *pair_parts(merged))


class _Filing:
    """The filing of one block as read: sorted position keys and their supervoxels."""

    def __init__(self, value: bytes | None) -> None:
        self.keys, self.svs = decode_pairs(value, "<u8")

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each of ``keys`` is filed, and its supervoxel where it is."""
        if not len(self.keys):
            return np.zeros(len(keys), bool), np.zeros(len(keys), np.uint64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return self.keys[at] == keys, self.svs[at]


def refile(
    txn: VersionedTxn,
    shape: Vec3,
    labels: LabelSource,
    blocks: list[Vec3],
    olds: Elements,
    news: Elements,
) -> frozenset[int]:
    """Re-file ``olds`` → ``news`` in the filings of ``blocks`` (every block they lie in)
    and update the supervoxel indexes; the bodies whose elements changed."""
    filings = [_Filing(v) for v in txn.get_many([filing_tkey(b) for b in blocks])]
    block_ids = pos_keys(np.asarray(blocks, np.int64).reshape(-1, 3)).tolist()
    old_keys, new_keys = olds.keys(), news.keys()
    old_by = Groups(block_keys_of(olds.pos, shape), old_keys)
    new_by = Groups(block_keys_of(news.pos, shape), new_keys)
    # supervoxels of the new elements: filed already, else looked up in the labelmap
    svs = np.zeros(len(news), np.uint64)
    known = np.zeros(len(news), bool)
    g_svs = np.zeros(len(olds), np.uint64)
    for block, filing in zip(block_ids, filings, strict=True):
        rows = new_by.rows(block)
        known[rows], svs[rows] = filing.find(new_keys[rows])
        rows = old_by.rows(block)
        g_svs[rows] = filing.find(old_keys[rows])[1]
    if not known.all():  # one read per label block
        svs[~known] = labels.supervoxels_at(news.pos[~known].astype(np.int64))
    for tkey, block, filing in zip(map(filing_tkey, blocks), block_ids, filings, strict=True):
        rows = new_by.rows(block)
        drop = old_keys[old_by.rows(block)]
        keys, values = merge_run(filing.keys, filing.svs, new_keys[rows], svs[rows], drop)
        write_pairs(txn, tkey, keys, values)
    # an element leaves its index if it went or changed kind; joins it likewise
    left = not_in(pairs_view(old_keys, olds.kind), pairs_view(new_keys, news.kind))
    joined = not_in(pairs_view(new_keys, news.kind), pairs_view(old_keys, olds.kind))
    c_svs = svs[joined]
    touched = np.unique(np.concatenate([g_svs[left], c_svs]))
    touched = touched[touched != 0]
    apply_index_changes(
        txn, touched, old_keys[left], g_svs[left], new_keys[joined], news.kind[joined], c_svs
    )
    if not len(touched):
        return frozenset()
    bodies = labels.bodies_of(touched)
    return frozenset(int(b) for b in np.unique(bodies) if b)


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
    that of ``c_svs``, for each supervoxel of ``svs`` (entries on other supervoxels are
    left alone)."""
    if not len(svs):
        return
    # supervoxel ids are uint64: grouped by their bits as int64 (any order will do)
    gone_by = Groups(np.asarray(g_svs, np.uint64).view(np.int64), np.asarray(g_keys))
    came_by = Groups(np.asarray(c_svs, np.uint64).view(np.int64), np.asarray(c_keys))
    c_kinds = np.asarray(c_kinds, np.uint8)
    tkeys = [index_tkey(sv) for sv in svs.tolist()]
    ids = np.asarray(svs, np.uint64).view(np.int64).tolist()
    for tkey, sv, value in zip(tkeys, ids, txn.get_many(tkeys), strict=True):
        keys, kinds = decode_pairs(value, "u1")
        add = came_by.rows(sv)
        keys, kinds = merge_run(keys, kinds, c_keys[add], c_kinds[add], g_keys[gone_by.rows(sv)])
        write_pairs(txn, tkey, keys, kinds)
