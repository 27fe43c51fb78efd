"""The tag index: for each tag and block, the position keys of the block's elements that
carry the tag (``0x05 | length | tag | block``, :mod:`.keys`), so ``GET tag/{tag}`` reads
one key range and the blocks it names, never every element.

It is derived data, kept in the transaction of every element write, move and delete
(:func:`update_tags`, from the elements each edit touched), recomputed where the parents
disagree at a merge of versions (:func:`repair_tags`) and rebuilt whole by ``POST
reload`` (:func:`rebuild_tags`: stores written before the index existed). Elements
without tags cost nothing else: an edit whose elements, before and after, carry no
``Tags`` or ``Prop`` is skipped after one check of their ``extra`` column (a few ms for a
million elements, against seconds for their ingest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from voxhub.datatypes.annotation.elements import Elements, key_positions
from voxhub.datatypes.annotation.keys import (
    BLOCK,
    TAGS,
    block_of,
    class_range,
    tag_of,
    tag_range,
    tag_tkey,
    taggable,
)
from voxhub.datatypes.annotation.stored import all_blocks, blocks_of, elements_at, read_blocks
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedReader, VersionedTxn


def tagged(batch: Elements) -> dict[str, np.ndarray]:
    """``{tag: position keys}`` of the elements of ``batch`` carrying each tag."""
    # the common case, no Tags or Prop: one C pass over the column (ndarray.any on an
    # object array is several times slower)
    if not len(batch) or not np.count_nonzero(batch.extra):
        return {}
    out: dict[str, list[int]] = {}
    keys = batch.keys()
    for i, ex in enumerate(batch.extra.tolist()):
        if ex is not None:
            for tag in dict.fromkeys(ex[0]):
                out.setdefault(tag, []).append(int(keys[i]))
    return {tag: np.asarray(found, np.int64) for tag, found in out.items()}


def update_tags(txn: VersionedTxn, shape: Vec3, olds: Elements, news: Elements) -> None:
    """Bring the tag index up to date with an edit in which the elements ``olds`` (as
    stored before) became ``news``: every element at one of their positions is filed
    under the tags it carries now, and under no other."""
    before, after = tagged(olds), tagged(news)
    if not before and not after:
        return
    touched = np.concatenate([olds.keys(), news.keys()])
    none = np.zeros(0, np.int64)
    for tag in sorted(before.keys() | after.keys()):
        now = after.get(tag, none)
        keys = np.concatenate([before.get(tag, none), now])
        rows = blocks_of(key_positions(keys), shape)
        now_blocks = blocks_of(key_positions(now), shape)
        for row in np.unique(rows, axis=0).tolist():
            block = (row[0], row[1], row[2])
            tkey = tag_tkey(tag, block)
            stored = decode_keys(txn.get(tkey))
            keep = stored[~np.isin(stored, touched)]  # touched elements: as they are now
            mine = now[np.all(now_blocks == block, axis=1)]
            _write(txn, tkey, np.union1d(keep, mine))


def tag_elements(reader: VersionedReader, tag: str, shape: Vec3) -> Elements:
    """The elements carrying ``tag``, in position order (reads that tag's keys and the
    blocks they name)."""
    if not taggable(tag):
        return Elements.empty()
    keys = [decode_keys(v) for _, v in reader.scan(*tag_range(tag)) if v is not None]
    if not keys:
        return Elements.empty()
    return elements_at(reader, np.concatenate(keys), shape)


def repair_tags(
    txn: VersionedTxn, parents: Sequence[VersionedReader], changed: Iterable[bytes]
) -> None:
    """At a merge node: recompute the tag keys the parents disagree on, and every tag
    key of the element blocks they disagree on (the tags the merged block and each
    parent's block carry)."""
    wanted: set[tuple[str, Vec3]] = set()
    blocks: list[Vec3] = []
    for tkey in changed:
        if tkey[:1] == TAGS:
            wanted.add(tag_of(tkey))
        elif tkey[:1] == BLOCK:
            blocks.append(block_of(tkey))
    here = read_blocks(txn, blocks)
    sides = [read_blocks(p, blocks) for p in parents]
    for block in blocks:
        found = [here.get(block), *(s.get(block) for s in sides)]
        for batch in found:
            if batch is not None:
                wanted.update((tag, block) for tag in tagged(batch))
    current: dict[Vec3, dict[str, np.ndarray]] = {}
    for tag, block in sorted(wanted):
        if block not in current:
            current[block] = tagged(read_blocks(txn, [block]).get(block, Elements.empty()))
        _write(txn, tag_tkey(tag, block), current[block].get(tag, np.zeros(0, np.int64)))


def rebuild_tags(txn: VersionedTxn) -> None:
    """Drop the tag index and derive it anew from every stored element (``reload``)."""
    for tkey, _ in list(txn.scan(*class_range(TAGS), keys_only=True)):
        txn.delete(tkey)
    for block, batch in list(all_blocks(txn)):
        for tag, keys in tagged(batch).items():
            _write(txn, tag_tkey(tag, block), keys)


def _write(txn: VersionedTxn, tkey: bytes, keys: np.ndarray) -> None:
    if len(keys):
        txn.put(tkey, encode_keys(np.unique(keys)))
    elif txn.get(tkey) is not None:
        txn.delete(tkey)


def encode_keys(keys: np.ndarray) -> bytes:
    """A tag key's value: sorted position keys, little-endian int64."""
    return np.ascontiguousarray(keys, dtype="<i8").tobytes()


def decode_keys(raw: bytes | memoryview | None) -> np.ndarray:
    if raw is None:
        return np.zeros(0, np.int64)
    return np.frombuffer(raw, "<i8").astype(np.int64)
