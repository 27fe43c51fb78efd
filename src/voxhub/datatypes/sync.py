"""Sync between datatypes: what a labelmap mutation tells the instances that follow it.

DVID keeps annotations consistent with a labelmap lazily (asynchronously; clients poll).
voxhub does it in the same storage transaction as the label change, so when a mutation
returns, everything that follows the labelmap is exact at that version. The chain::

    labelmap --(LabelChange)--> annotation --(bodies whose elements changed)--> labelsz

An instance follows the instances its stored config names under ``"sync"`` (DVID's
``Sync`` setting, or ``POST sync``; :mod:`.sync_config`). Inside its mutation's
transaction the labelmap calls :func:`notify_label_change`: each follower's view at the
node is joined to the transaction (``VersionedTxn.joined``) and its datatype's
``on_label_change`` hook runs there, seeing the mutation's own writes through a
:class:`LabelSource`; the bodies whose elements it re-filed go on to its own followers
(:func:`notify_element_change`, which an annotation also calls after its element writes).
A follower that fails aborts the whole mutation: nothing is stored.

Finding followers reads the repo's instance records, cached per repo generation
(:mod:`voxhub.versioning.generations`: any instance change moves it), so a mutation of a
labelmap nothing follows costs one ``get``. The followers a mutation tells are read
*inside* its transaction (:func:`followers_in` reads the generation through it), so an
instance that starts following while the mutation runs is exact either way: its sync
record committed first (the mutation sees and tells it, or reruns on a store that
validates reads), or after (its set-up then builds from the mutation's result). A voxel
write that found nothing following before its transaction checks again inside it
(:mod:`voxhub.datatypes.labelmap.synced`).

When a source changes wholesale (an ROI replaced or deleted, an annotation re-synced to
another labelmap), :func:`notify_source_reset` lets each follower rebuild its derived
data in the same transaction (labelsz recounts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from voxhub.datatypes.dvid_base import synced_names as synced_names  # re-exported
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedTxn
from voxhub.versioning.records import InstanceInfo

if TYPE_CHECKING:
    from voxhub.datatypes.access import StoreAccess


@dataclass(frozen=True)
class LabelChange:
    """What one labelmap transaction changed, as a synced datatype needs it."""

    #: scale-0 block coordinates ``(z, y, x)`` whose supervoxel voxels changed
    voxel_blocks: frozenset[Vec3] = frozenset()
    #: bodies whose voxels or supervoxel set changed (merge target and sources, cleave
    #: and split old and new, renumber old and new, written voxels' old and new bodies)
    bodies: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.voxel_blocks and not self.bodies


class LabelSource(Protocol):
    """The synced labelmap inside the same transaction (sees the mutation's own writes)."""

    @property
    def block_shape(self) -> Vec3: ...

    def supervoxels_at(self, points: np.ndarray) -> np.ndarray:
        """``(N, 3)`` int64 ``(z, y, x)`` voxel coordinates → ``(N,)`` uint64 supervoxel
        ids (0 where nothing is written)."""
        ...

    def bodies_of(self, supervoxels: np.ndarray) -> np.ndarray:
        """uint64 supervoxel ids → uint64 body ids through the mapping (0 stays 0)."""
        ...

    def supervoxels_of(self, body: int) -> list[int]:
        """The supervoxels of ``body``, ascending; ``[]`` if the body has no voxels."""
        ...

    def bodies(self) -> list[int]:
        """Every body with voxels, ascending (what a full recount walks)."""
        ...


class ElementSource(Protocol):
    """A synced annotation inside the same transaction (what labelsz counts)."""

    def kinds_of_body(self, body: int) -> dict[str, int]:
        """Element kind → number of elements of ``body`` (exact; absent kinds left out)."""
        ...

    def positions_of_body(self, body: int, kind: str) -> np.ndarray:
        """``(N, 3)`` int64 ``(z, y, x)`` positions of ``body``'s elements of ``kind``."""
        ...

    # An ElementSource may also have ``bodies() -> list[int]`` (every body holding
    # elements); a full recount then walks those instead of every body of the labelmap.


#: a follower of a labelmap: (its own txn view, its instance, the labelmap, the change)
#: → the bodies whose elements changed (passed on to its own followers)
OnLabelChange = Callable[[VersionedTxn, InstanceInfo, LabelSource, LabelChange], frozenset[int]]
#: a follower of an annotation: (its own txn view, its instance, the annotation, the
#: bodies whose elements changed, the store access, the node: for what else it reads)
OnElementChange = Callable[
    [VersionedTxn, InstanceInfo, ElementSource, frozenset[int], "StoreAccess", str], None
]
#: a follower whose source changed wholesale: (its own txn view, its instance, the store
#: access, the node) → rebuild its derived data there, in that transaction
OnSourceReset = Callable[[VersionedTxn, InstanceInfo, "StoreAccess", str], None]
#: an annotation's elements seen through a txn view of it (and its labelmap, if synced)
MakeElementSource = Callable[[VersionedTxn, InstanceInfo, "LabelSource | None"], ElementSource]
#: a labelmap seen through a txn view of it
MakeLabelSource = Callable[[VersionedTxn, InstanceInfo], LabelSource]
#: build a follower's derived data at a node from what its sources hold now (called when a
#: sync is set up; one transaction)
BuildSynced = Callable[["StoreAccess", str, InstanceInfo], None]


# -- followers, cached per repo generation -------------------------------------------------
_cache_lock = threading.Lock()
#: (id of catalog, repo root) → (generation, source name → followers)
_followers: dict[tuple[int, str], tuple[int, dict[str, tuple[InstanceInfo, ...]]]] = {}
_MAX_REPOS = 256


def followers_of(access: StoreAccess, source: InstanceInfo) -> tuple[InstanceInfo, ...]:
    """The instances whose config syncs to ``source`` (one ``get`` while the repo's
    records are unchanged)."""
    catalog = access.catalog
    key = (id(catalog), source.repo)
    number = catalog.generation(source.repo).number
    with _cache_lock:
        found = _followers.get(key)
    if found is None or found[0] != number:
        table: dict[str, list[InstanceInfo]] = {}
        for info in catalog.instances(source.repo):
            for name in synced_names(info):
                table.setdefault(name, []).append(info)
        found = (number, {k: tuple(v) for k, v in table.items()})
        with _cache_lock:
            if len(_followers) >= _MAX_REPOS:
                _followers.clear()
            _followers[key] = found
    return found[1].get(source.name, ())


def followers_in(
    txn: VersionedTxn, access: StoreAccess, source: InstanceInfo
) -> tuple[InstanceInfo, ...]:
    """:func:`followers_of`, read inside ``txn``: the repo's generation is read through
    it first, so a follower added meanwhile is seen, or conflicts with the transaction
    (see the module doc)."""
    txn.repo_generation(source.repo)
    return followers_of(access, source)


def _join(
    txn: VersionedTxn, access: StoreAccess, node_uuid: str, info: InstanceInfo
) -> VersionedTxn:
    return txn.joined(access.catalog.view(node_uuid, info.name))


def notify_label_change(
    txn: VersionedTxn,
    access: StoreAccess,
    node_uuid: str,
    labelmap: InstanceInfo,
    change: LabelChange,
) -> None:
    """Tell every follower of ``labelmap`` (and theirs) about ``change``, inside ``txn``
    (the labelmap's own transaction view at ``node_uuid``)."""
    if change.empty:
        return
    followers = followers_in(txn, access, labelmap)
    if not followers:
        return
    from voxhub.datatypes.registry import datatype_for

    make = datatype_for(labelmap.typename).label_source
    if make is None:
        return
    source = make(txn, labelmap)
    for info in followers:
        hook = datatype_for(info.typename).on_label_change
        if hook is None:
            continue
        joined = _join(txn, access, node_uuid, info)
        bodies = hook(joined, info, source, change)
        if bodies:
            notify_element_change(joined, access, node_uuid, info, bodies, source)


def notify_element_change(
    txn: VersionedTxn,
    access: StoreAccess,
    node_uuid: str,
    annotation: InstanceInfo,
    bodies: frozenset[int],
    labels: LabelSource | None = None,
) -> None:
    """Tell every follower of ``annotation`` that the elements of ``bodies`` changed,
    inside ``txn`` (the annotation's own transaction view at ``node_uuid``). ``labels``:
    its synced labelmap in the same transaction, if the caller has it (else it is opened
    here when the annotation syncs to one)."""
    if not bodies:
        return
    followers = followers_in(txn, access, annotation)
    if not followers:
        return
    from voxhub.datatypes.registry import datatype_for

    make = datatype_for(annotation.typename).element_source
    if make is None:
        return
    if labels is None:
        labels = label_source_of(txn, access, node_uuid, annotation)
    elements = make(txn, annotation, labels)
    for info in followers:
        hook = datatype_for(info.typename).on_element_change
        if hook is not None:
            joined = _join(txn, access, node_uuid, info)
            hook(joined, info, elements, frozenset(bodies), access, node_uuid)


def notify_source_reset(
    txn: VersionedTxn, access: StoreAccess, node_uuid: str, source: InstanceInfo
) -> None:
    """Let every follower of ``source`` that derives data from it rebuild that data at
    ``node_uuid`` inside ``txn`` (``source``'s own transaction view there): ``source``
    changed wholesale (an ROI replaced, an annotation following another labelmap)."""
    from voxhub.datatypes.registry import datatype_for

    for info in followers_in(txn, access, source):
        hook = datatype_for(info.typename).on_source_reset
        if hook is not None:
            hook(_join(txn, access, node_uuid, info), info, access, node_uuid)


def label_source_of(
    txn: VersionedTxn, access: StoreAccess, node_uuid: str, follower: InstanceInfo
) -> LabelSource | None:
    """The labelmap ``follower`` syncs to, inside ``txn`` (a view of ``follower`` at
    ``node_uuid``); ``None`` if it follows none."""
    from voxhub.datatypes.registry import datatype_for

    for name in synced_names(follower):
        info = access.catalog.instance(follower.repo, name)
        make = datatype_for(info.typename).label_source
        if make is not None:
            return make(_join(txn, access, node_uuid, info), info)
    return None
