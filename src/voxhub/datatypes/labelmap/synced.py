"""A labelmap as a sync source (:mod:`voxhub.datatypes.sync`).

Every mutating transaction of a labelmap ends by telling the instances that follow it
what changed (:class:`~voxhub.datatypes.sync.LabelChange`), through :class:`LabelSync`,
which the opener binds to the instance, node and store. They read the labelmap through
:class:`TxnLabels`, a :class:`~voxhub.datatypes.sync.LabelSource` over the mutation's own
transaction, so they see its uncommitted writes. Whether anything follows is known
before the transaction (one ``get`` of the repo's generation), and voxel writes work out
their exact change only then: nothing is spent when nothing follows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import numpy as np

from voxhub.blocks import BlockLayout, fetch_blocks
from voxhub.codecs.cseg_points import cseg_points
from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import KEY_INDEX, id_of, index_key, key_range
from voxhub.datatypes.labelmap.mapping import bodies_of
from voxhub.datatypes.labelmap.native_transcode import is_cseg_labels
from voxhub.datatypes.sync import LabelChange, followers_in, followers_of, notify_label_change
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedReader, VersionedTxn
from voxhub.versioning.records import InstanceInfo


class Notify(Protocol):
    """Tells a labelmap's followers about one change, inside the mutation's txn."""

    def __call__(self, txn: VersionedTxn, change: LabelChange) -> None: ...


class LabelSync:
    """The followers of one labelmap at one node."""

    def __init__(self, access: StoreAccess, node_uuid: str, info: InstanceInfo) -> None:
        self._access, self._node, self._info = access, node_uuid, info

    def followed(self) -> bool:
        """Whether any instance follows the labelmap now (read outside transactions)."""
        return bool(followers_of(self._access, self._info))

    def notify(self, txn: VersionedTxn, change: LabelChange) -> None:
        notify_label_change(txn, self._access, self._node, self._info, change)


class FollowersAppeared(Exception):
    """A voxel write that found nothing following the labelmap before its transaction
    found a follower inside it (a sync set up meanwhile): the transaction is abandoned
    and the write runs again, working out its exact change (:func:`voxel_write`)."""


class Unfollowed:
    """What a voxel write that found no follower before its transaction passes instead
    of a :class:`Notify`: it works out no change, and :meth:`check` re-reads the
    followers inside the transaction (:func:`~voxhub.datatypes.sync.followers_in`)."""

    def __init__(self, sync: LabelSync) -> None:
        self._sync = sync

    def check(self, txn: VersionedTxn) -> None:
        """``FollowersAppeared`` if something follows the labelmap now."""
        if followers_in(txn, self._sync._access, self._sync._info):
            raise FollowersAppeared


#: how a voxel write tells the labelmap's followers: nothing (no sync at all), with the
#: exact change, or by checking inside its transaction that nothing follows yet
VoxelNotify = Notify | Unfollowed | None


def voxel_write(sync: LabelSync | None, run: Callable[[VoxelNotify], None]) -> None:
    """Run a voxel write ``run(notify)``, working out its exact change only when
    something follows the labelmap; a sync set up between the check before the
    transaction and the transaction itself makes it run again with the change, so the
    new follower is exact either way."""
    if sync is None:
        run(None)
    elif sync.followed():
        run(sync.notify)
    else:
        try:
            run(Unfollowed(sync))
        except FollowersAppeared:
            run(sync.notify)


def ignore(txn: VersionedTxn, change: LabelChange) -> None:
    """The :class:`Notify` of a labelmap nothing follows."""


class TxnLabels:
    """A labelmap read through a transaction view of it (a ``LabelSource``)."""

    def __init__(self, reader: VersionedReader, config: ImageConfig) -> None:
        self._reader = reader
        self._layout = config.layout(0, config.make_codec())

    @property
    def block_shape(self) -> Vec3:
        return self._layout.block_shape

    def supervoxels_at(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, np.int64).reshape(-1, 3)
        out = np.zeros(len(pts), np.uint64)
        if not len(pts):
            return out
        shape = np.array(self._layout.block_shape, np.int64)
        blocks = pts // shape
        coords, which = _distinct_rows(blocks)
        keys: list[Vec3] = [(int(z), int(y), int(x)) for z, y, x in coords.tolist()]
        inner = pts - blocks * shape
        if is_cseg_labels(self._layout):  # read the points off the compressed blocks
            values = self._reader.get_many([self._layout.tkey(c) for c in keys])
            order = np.argsort(which, kind="stable")
            bounds = np.searchsorted(which[order], np.arange(len(keys) + 1))
            for i, value in enumerate(values):
                if value is not None:
                    sel = order[bounds[i] : bounds[i + 1]]
                    out[sel] = cseg_points(value, self._layout.block_shape, inner[sel])
            return out
        for i, block in enumerate(fetch_blocks(self._reader, self._layout, keys)):
            if block is None:
                continue
            sel = np.nonzero(which == i)[0]
            local = inner[sel]
            out[sel] = block[local[:, 0], local[:, 1], local[:, 2]]
        return out

    def bodies_of(self, supervoxels: np.ndarray) -> np.ndarray:
        svs = np.asarray(supervoxels, np.uint64)
        distinct = np.unique(svs)
        table = bodies_of(self._reader, distinct.tolist())
        bodies = np.array([table[int(v)] for v in distinct.tolist()], np.uint64)
        return bodies[np.searchsorted(distinct, svs)] if svs.size else svs.copy()

    def bodies(self) -> list[int]:
        start, end = key_range(KEY_INDEX)
        return [id_of(k) for k, _ in self._reader.scan(start, end, keys_only=True)]

    def supervoxels_of(self, body: int) -> list[int]:
        value = self._reader.get(index_key(body)) if body else None
        return [] if value is None else sorted(LabelIndex.decode(body, value).supervoxel_sizes())


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` of ``(N, 3)`` int64 rows, through
    one int64 per row (``axis=0`` sorts rows as bytes, several times slower)."""
    lo = rows.min(axis=0) if len(rows) else np.zeros(3, np.int64)
    span = (rows.max(axis=0) - lo + 1) if len(rows) else np.ones(3, np.int64)
    if float(span[0]) * float(span[1]) * float(span[2]) >= 2.0**62:
        coords, which = np.unique(rows, axis=0, return_inverse=True)
        return coords, which.reshape(-1)
    shifted = rows - lo
    keys = (shifted[:, 0] * span[1] + shifted[:, 1]) * span[2] + shifted[:, 2]
    _, first, which = np.unique(keys, return_index=True, return_inverse=True)
    return rows[first], which.reshape(-1)


def voxel_change(
    txn: VersionedReader,
    layout: BlockLayout,
    coords: Sequence[Vec3],
    before: Sequence[np.ndarray | None],
    after: Sequence[np.ndarray],
) -> LabelChange:
    """The exact change of writing ``after`` over ``before`` (``None``: background) at
    ``coords``: the blocks whose voxels differ and the bodies of the supervoxels involved,
    mapped through ``txn`` (read it after the write's mapping changes)."""
    changed = (block_change(layout, old, new) for old, new in zip(before, after, strict=True))
    return collect_changes(txn, zip(coords, changed, strict=True))


def block_change(
    layout: BlockLayout, before: np.ndarray | None, after: np.ndarray
) -> set[int] | None:
    """The supervoxels whose voxels differ between ``before`` (``None``: background) and
    ``after`` in one block; ``None`` if no voxel differs (a writer computes this while
    it still holds both blocks, see :func:`collect_changes`)."""
    base = before if before is not None else layout.background_block()
    diff = base != after
    if not diff.any():
        return None
    return set(np.unique(base[diff]).tolist()) | set(np.unique(after[diff]).tolist())


def collect_changes(
    txn: VersionedReader, changes: Iterable[tuple[Vec3, set[int] | None]]
) -> LabelChange:
    """The change of a write from :func:`block_change` of each written block."""
    blocks: set[Vec3] = set()
    svs: set[int] = set()
    for coord, changed in changes:
        if changed is not None:
            blocks.add(coord)
            svs |= changed
    return LabelChange(frozenset(blocks), _bodies(txn, svs))


def _bodies(reader: VersionedReader, svs: Iterable[int]) -> frozenset[int]:
    table = bodies_of(reader, svs)
    return frozenset(b for sv, b in table.items() if sv and b)


def body_change(*bodies: Iterable[int], blocks: Iterable[Vec3] = ()) -> LabelChange:
    """A change of the given bodies (and voxel blocks)."""
    return LabelChange(frozenset(blocks), frozenset(b for group in bodies for b in group if b))


def mapping_change(
    txn: VersionedReader, before: dict[int, int], bodies: dict[int, int]
) -> LabelChange:
    """What ``POST mappings`` changed: the old bodies (``before``, read in the txn before
    the write) and the new ones of every supervoxel it remapped."""
    changed = [sv for sv, body in bodies.items() if before.get(sv) != body]
    return body_change([before[sv] for sv in changed], [bodies[sv] for sv in changed])
