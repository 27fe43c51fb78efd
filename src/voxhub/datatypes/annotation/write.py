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
from voxhub.datatypes.annotation.edits import Edits, group_rows
from voxhub.datatypes.annotation.elements import (
    Elements,
    check_coords,
    concat,
    format_pos,
    key_positions,
    last_per_position,
    pos_keys,
)
from voxhub.datatypes.annotation.keys import refs_tkey
from voxhub.datatypes.annotation.stored import blocks_of
from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3


def add_elements(edits: Edits, batch: Elements) -> None:
    """Store ``batch`` (an element at a stored position replaces it; of several at one
    position in the batch the last wins). 400 naming the first element with a
    relationship to a position where no element is stored or sent."""
    batch = last_per_position(batch)
    _check_partners(edits, batch)
    for block, idx in group_rows(blocks_of(batch.pos, edits.shape)):
        new = batch.take(idx)
        old = edits.block(block)
        new_keys = new.keys()
        kept = old.take(np.flatnonzero(~np.isin(old.keys(), new_keys, assume_unique=True)))
        edits.put(block, concat([kept, new]).sorted(), new_keys)


def _check_partners(edits: Edits, batch: Elements) -> None:
    targets = batch.rel_to_keys()
    outside = ~np.isin(targets, batch.keys())
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
