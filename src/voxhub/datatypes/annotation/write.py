"""Element writes inside one transaction: add (replace), delete, move.

Each works on an :class:`~.edits.Edits` session, which stores the changed blocks and the
derived data when finished; a refusal raises before anything is stored, so a request
that fails leaves nothing behind. Unlike DVID, which stores relationships as given, a
relationship must point at an element that exists (stored, or in the same batch), and a
delete or move updates every element that points at the element it changes.
"""

from __future__ import annotations

import numpy as np

from voxhub.datatypes.annotation.codec import decode_pairs
from voxhub.datatypes.annotation.derived import block_keys_of
from voxhub.datatypes.annotation.edits import Edits
from voxhub.datatypes.annotation.elements import (
    Elements,
    check_coords,
    concat,
    format_pos,
    key_positions,
    last_per_position,
    pos_keys,
    ranges,
)
from voxhub.datatypes.annotation.keys import refs_tkey
from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3


def add_elements(edits: Edits, batch: Elements) -> None:
    """Store ``batch`` (an element at a stored position replaces it; of several at one
    position in the batch the last wins). 400 naming the first element with a
    relationship to a position where no element is stored or sent.

    Vectorised over the whole batch: the blocks it meets are read at once and their
    elements and the batch ordered together by (block, position); only blocks where an
    element changes are written, and only the changed elements reach the derived data.
    """
    batch = last_per_position(batch)
    _check_partners(edits, batch)
    new_blocks = block_keys_of(batch.pos, edits.shape)
    distinct = np.unique(new_blocks)
    blocks: list[Vec3] = [(b[0], b[1], b[2]) for b in key_positions(distinct).tolist()]
    edits.load(blocks)
    stored = [edits.block(b) for b in blocks]
    old = concat(stored)
    old_rank = np.repeat(np.arange(len(blocks)), [len(e) for e in stored])
    new_rank = np.searchsorted(distinct, new_blocks)
    old_order = block_order(old.pos, old_rank, edits.shape)  # ascending: sorted blocks
    new_order = block_order(batch.pos, new_rank, edits.shape)
    if len(old):
        at = np.minimum(np.searchsorted(old_order, new_order), len(old) - 1)
        hit = old_order[at] == new_order
    else:
        at, hit = np.zeros(len(batch), np.int64), np.zeros(len(batch), bool)
    same = hit.copy()
    same[hit] = same_elements(batch, np.flatnonzero(hit), old, at[hit])
    if same.all():
        return  # every element is stored as sent already
    kept = np.ones(len(old), bool)
    kept[at[hit]] = False
    merged = concat([old.take(np.flatnonzero(kept)), batch])
    order = np.argsort(np.concatenate([old_order[kept], new_order]), kind="stable")
    merged = merged.take(order)
    ranks = np.concatenate([old_rank[kept], new_rank])[order]
    bounds = np.searchsorted(ranks, np.arange(len(blocks) + 1)).tolist()
    changed = np.unique(new_rank[~same]).tolist()
    edits.put_changes(
        {blocks[r]: merged.slice(bounds[r], bounds[r + 1]) for r in changed},
        old.take(at[~same & hit]),
        batch.take(np.flatnonzero(~same)),
    )


def block_order(pos: np.ndarray, rank: np.ndarray, shape: Vec3) -> np.ndarray:
    """int64 keys ordering positions by ``rank`` (of their block), then by position:
    ``rank << 36 | offset in the block`` (blocks are at most 4096³ = 2**36 voxels)."""
    p = pos.astype(np.int64)
    s = np.asarray(shape, np.int64)
    local = p - np.floor_divide(p, s) * s
    offset = (local[:, 0] * s[1] + local[:, 1]) * s[2] + local[:, 2]
    out: np.ndarray = (rank.astype(np.int64) << 36) | offset
    return out


def same_elements(a: Elements, ia: np.ndarray, b: Elements, ib: np.ndarray) -> np.ndarray:
    """Whether element ``ia[k]`` of ``a`` equals element ``ib[k]`` of ``b`` (same
    position assumed), for each ``k``."""
    counts = np.diff(a.rel_start).take(ia)
    eq: np.ndarray = (a.kind.take(ia) == b.kind.take(ib)) & (
        counts == np.diff(b.rel_start).take(ib)
    )
    eq &= np.asarray(a.extra.take(ia) == b.extra.take(ib), bool)
    cand = np.flatnonzero(eq)
    n = counts[cand]
    ra = ranges(a.rel_start[:-1].take(ia[cand]), n)
    rb = ranges(b.rel_start[:-1].take(ib[cand]), n)
    differ = (a.rel_kind.take(ra) != b.rel_kind.take(rb)) | (
        a.rel_to.take(ra, axis=0) != b.rel_to.take(rb, axis=0)
    ).any(axis=1)
    eq[cand[np.repeat(np.arange(len(cand)), n)[differ]]] = False
    return eq


def _check_partners(edits: Edits, batch: Elements) -> None:
    """400 if a relationship of ``batch`` (sorted by position) points where no element
    is stored or sent."""
    targets = batch.rel_to_keys()
    keys = batch.keys()
    if not len(targets):
        return
    at = np.minimum(np.searchsorted(keys, targets), len(keys) - 1)
    outside = keys[at] != targets
    if not outside.any():
        return
    wanted = np.unique(targets[outside])
    pos = key_positions(wanted)
    blocks = edits.blocks_of(pos)
    edits.load(blocks)
    stored = [edits.block(b).keys() for b in blocks]
    present = np.isin(wanted, np.concatenate(stored)) if stored else np.zeros(0, bool)
    if present.all():
        return
    missing = wanted[~present]
    bad = np.flatnonzero(outside & np.isin(targets, missing))[0]
    owner = int(batch.rel_owner[bad])
    raise InvalidRequest(
        f"element at {format_pos(batch.pos[owner])} has a relationship to "
        f"{format_pos(batch.rel_to[bad])}, where no element is stored or sent"
    )


def _find(edits: Edits, zyx: Vec3) -> tuple[Vec3, Elements, int]:
    """The block, its elements and the index of the element at ``zyx`` (400 if none)."""
    pos = np.asarray([zyx], np.int64)
    check_coords(pos)
    block = edits.blocks_of(pos)[0]
    elements = edits.block(block)
    hit = np.flatnonzero(elements.keys() == pos_keys(pos)[0])
    if not len(hit):
        raise InvalidRequest(f"no element at {format_pos(zyx)}")
    return block, elements, int(hit[0])


def _pointing_at(edits: Edits, zyx: Vec3) -> np.ndarray:
    """Position keys of the elements (other than itself) with a relationship to ``zyx``."""
    key = pos_keys(np.asarray([zyx]))[0]
    block = edits.blocks_of(np.asarray([zyx]))[0]
    targets, sources = decode_pairs(edits.txn.get(refs_tkey(block)), "<i8")
    found = sources[targets == key]
    return np.unique(found[found != key])


def _retarget(elements: Elements, old_key: int, new_pos: Vec3 | None) -> Elements:
    """``elements`` with relationships to ``old_key`` moved to ``new_pos`` (``None``:
    removed)."""
    hit = elements.rel_to_keys() == old_key
    if not hit.any():
        return elements
    if new_pos is not None:
        to = elements.rel_to.copy()
        to[hit] = new_pos
        return elements.with_rels(elements.rel_start, elements.rel_kind, to)
    keep = ~hit
    counts = np.bincount(elements.rel_owner[keep], minlength=len(elements))
    start = np.zeros(len(elements) + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    return elements.with_rels(start, elements.rel_kind[keep], elements.rel_to[keep])


def _update_sources(edits: Edits, sources: np.ndarray, old_key: int, new_pos: Vec3 | None) -> None:
    if not len(sources):
        return
    pos = key_positions(sources)
    for block in edits.blocks_of(pos):
        edits.put(block, _retarget(edits.block(block), old_key, new_pos), sources)


def delete_element(edits: Edits, zyx: Vec3) -> None:
    """Delete the element at ``zyx`` and every relationship pointing at it (400 if none)."""
    block, elements, i = _find(edits, zyx)
    sources = _pointing_at(edits, zyx)
    key = int(pos_keys(np.asarray([zyx]))[0])
    edits.put(block, elements.take(np.delete(np.arange(len(elements)), i)), np.asarray([key]))
    _update_sources(edits, sources, key, None)


def move_element(edits: Edits, src: Vec3, dst: Vec3) -> None:
    """Move the element at ``src`` to ``dst``, retargeting every relationship pointing
    at it (400 if ``src`` holds no element or ``dst`` holds one)."""
    if src == dst:
        _find(edits, src)
        return
    check_coords(np.asarray([dst], np.int64), "move target")
    block, elements, i = _find(edits, src)
    dst_block = edits.blocks_of(np.asarray([dst]))[0]
    dst_key = int(pos_keys(np.asarray([dst]))[0])
    if (edits.block(dst_block).keys() == dst_key).any():
        raise InvalidRequest(
            f"cannot move {format_pos(src)} to {format_pos(dst)}: an element is there"
        )
    key = int(pos_keys(np.asarray([src]))[0])
    sources = _pointing_at(edits, src)
    moved = _retarget(elements.take(np.asarray([i])), key, dst)
    moved.pos[:] = dst
    edits.put(block, elements.take(np.delete(np.arange(len(elements)), i)), np.asarray([key]))
    edits.put(dst_block, concat([edits.block(dst_block), moved]).sorted(), np.asarray([dst_key]))
    _update_sources(edits, sources, key, dst)
