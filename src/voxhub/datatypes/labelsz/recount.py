"""Keeping a labelsz exact: recount the bodies its annotation names, rebuild when needed.

The annotation tells, in its own transaction, which bodies' elements changed (element
writes, moves and deletes, and through it every labelmap mutation:
:mod:`voxhub.datatypes.sync`); :func:`on_element_change` recounts exactly those bodies
from the annotation (:class:`~voxhub.datatypes.sync.ElementSource`) and rewrites only the
counts that differ, with their rank keys. When a sync is set up, and at a merge of
versions (:func:`repair_after_merge`, at the merge node once the annotation and the
labelmap are repaired there), :func:`rebuild` recounts every body that has elements or
counts: labelsz keys are derived data and never conflict.

With an ROI (:mod:`.config`), only elements inside it count. A static ROI is read at its
committed version, which never changes. A live ROI is read at the node being counted,
inside the transaction; replacing or deleting it there tells the labelsz
(:func:`~voxhub.datatypes.sync.notify_source_reset`), which recounts every body in the
ROI's transaction (:func:`on_source_reset`), and at a merge of versions the recount reads
the merged ROI. A recount after an ROI change costs what a ``reload`` costs: ROIs change
rarely, counts are read often.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from voxhub.datatypes.access import CatalogAccess, StoreAccess
from voxhub.datatypes.labelsz.config import roi_of
from voxhub.datatypes.labelsz.keys import (
    KEY_COUNT,
    KEY_RANK,
    KINDS,
    MARK,
    SYNAPTIC,
    count_key,
    decode_count,
    encode_count,
    parse_rank,
    rank_key,
)
from voxhub.datatypes.roi.query import RoiReader
from voxhub.datatypes.sync import ElementSource, LabelSource, synced_names
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.dag import NodeInfo
from voxhub.versioning.protocols import VersionedTxn, VersionedView
from voxhub.versioning.records import InstanceInfo

_CODES = sorted(KINDS.values())
_ALLSYN = KINDS["AllSyn"]
#: opens an instance's view at the node being recounted (by instance name)
OpenView = Callable[[str], VersionedView]


def roi_reader(
    txn: VersionedTxn, access: StoreAccess, info: InstanceInfo, open_view: OpenView
) -> RoiReader | None:
    """The ROI limiting ``info``'s counts: the static one at its committed version, or
    the live one (an roi among its syncs) through ``txn`` at the node ``open_view``
    opens instances at; ``None`` without one."""
    roi = roi_of(info.config)
    if roi is not None:
        from voxhub.datatypes.roi.instance import open_roi_reader

        return open_roi_reader(access, roi.uuid, roi.name)
    live = followed(access, info).get("roi")
    if live is None:
        return None
    from voxhub.datatypes.roi.config import RoiConfig

    shape = RoiConfig.from_json(live.config).block_shape
    return RoiReader(txn.joined(open_view(live.name)), shape)


def followed(access: StoreAccess, info: InstanceInfo) -> dict[str, InstanceInfo]:
    """The instances ``info`` follows, by datatype family (``annotation``, ``roi``)."""
    from voxhub.datatypes.registry import datatype_for

    out: dict[str, InstanceInfo] = {}
    for name in synced_names(info):
        found = access.catalog.instance(info.repo, name)
        out.setdefault(datatype_for(found.typename).name, found)
    return out


def counts_of(elements: ElementSource, body: int, roi: RoiReader | None) -> dict[int, int]:
    """``{kind code: count}`` of ``body``'s elements (inside ``roi`` if given), zeros left
    out; ``AllSyn`` adds up the synaptic kinds."""
    kinds = elements.kinds_of_body(body)
    if roi is not None:
        kinds = {
            kind: int(np.count_nonzero(roi.contains(elements.positions_of_body(body, kind))))
            for kind in kinds
            if kind in KINDS
        }
    out = {KINDS[k]: n for k, n in kinds.items() if k in KINDS and k != "AllSyn" and n}
    synaptic = sum(kinds.get(k, 0) for k in SYNAPTIC)
    if synaptic:
        out[_ALLSYN] = synaptic
    return out


def store_counts(txn: VersionedTxn, body: int, counts: dict[int, int]) -> None:
    """Make ``body``'s stored counts ``counts``, writing only the kinds that change."""
    old = txn.get_many([count_key(code, body) for code in _CODES])
    for code, value in zip(_CODES, old, strict=True):
        was, now = decode_count(value), counts.get(code, 0)
        if was == now:
            continue
        if was:
            txn.delete(rank_key(code, was, body))
        if now:
            txn.put(count_key(code, body), encode_count(now))
            txn.put(rank_key(code, now, body), MARK)
        else:
            txn.delete(count_key(code, body))


def recount(
    txn: VersionedTxn, elements: ElementSource, bodies: Iterable[int], roi: RoiReader | None
) -> None:
    """Recount ``bodies`` (body 0, elements on no body, is never counted)."""
    for body in sorted(set(bodies)):
        if body:
            store_counts(txn, body, counts_of(elements, body, roi))


def on_element_change(
    txn: VersionedTxn,
    info: InstanceInfo,
    elements: ElementSource,
    bodies: frozenset[int],
    access: StoreAccess,
    node_uuid: str,
) -> None:
    """The registry's ``on_element_change`` hook: recount the bodies named."""
    roi = roi_reader(txn, access, info, lambda n: access.catalog.view(node_uuid, n))
    recount(txn, elements, bodies, roi)


def on_source_reset(
    txn: VersionedTxn, info: InstanceInfo, access: StoreAccess, node_uuid: str
) -> None:
    """The registry's ``on_source_reset`` hook (its live ROI changed, its annotation
    follows another labelmap): recount every body at the node, in that transaction."""
    rebuild(txn, access, info, lambda n: access.catalog.view(node_uuid, n))


def counted_bodies(txn: VersionedTxn) -> set[int]:
    """Every body with a stored count of some kind, after dropping rank keys that
    disagree with their count key (a merge node sees each derived key from the first
    parent that wrote it, so a rank key written on one side only can outlive the count
    the other side deleted)."""
    start, end = bytes([KEY_COUNT]), bytes([KEY_COUNT + 1])
    bodies = {int.from_bytes(k[2:], "big") for k, _ in txn.scan(start, end, keys_only=True)}
    ranks = [k for k, _ in txn.scan(bytes([KEY_RANK]), bytes([KEY_RANK + 1]), keys_only=True)]
    counts = txn.get_many([count_key(k[1], parse_rank(k)[0]) for k in ranks])
    for tkey, value in zip(ranks, counts, strict=True):
        body, count = parse_rank(tkey)
        if decode_count(value) != count:
            txn.delete(tkey)
            bodies.add(body)
    return bodies


def sources(
    txn: VersionedTxn, access: StoreAccess, info: InstanceInfo, open_view: OpenView
) -> tuple[ElementSource, LabelSource | None] | None:
    """The annotation ``info`` counts (joined to ``txn``) and its labelmap, if any."""
    from voxhub.datatypes.registry import datatype_for

    annotation = followed(access, info).get("annotation")
    if annotation is None:
        return None
    catalog = access.catalog
    make = datatype_for(annotation.typename).element_source
    if make is None:
        return None
    joined = txn.joined(open_view(annotation.name))
    labels: LabelSource | None = None
    for name in synced_names(annotation):
        labelmap = catalog.instance(info.repo, name)
        source = datatype_for(labelmap.typename).label_source
        if source is not None:
            labels = source(joined.joined(open_view(labelmap.name)), labelmap)
            break
    return make(joined, annotation, labels), labels


def rebuild(
    txn: VersionedTxn, access: StoreAccess, info: InstanceInfo, open_view: OpenView
) -> None:
    """Recount every body that has elements or stored counts, at ``txn``'s node."""
    found = sources(txn, access, info, open_view)
    bodies = counted_bodies(txn)
    if found is None:
        recount(txn, _NoElements(), bodies, None)
        return
    elements, labels = found
    listing = getattr(elements, "bodies", None)  # an annotation may list them itself
    if callable(listing):
        bodies.update(listing())
    elif labels is not None:
        bodies.update(labels.bodies())
    recount(txn, elements, bodies, roi_reader(txn, access, info, open_view))


def build_synced(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> None:
    """The registry's ``build_synced`` hook: rebuild at ``node_uuid`` in one transaction."""
    catalog = access.catalog
    view = catalog.view(node_uuid, info.name)
    view.transact(lambda txn: rebuild(txn, access, info, lambda n: catalog.view(node_uuid, n)))


def repair_after_merge(catalog: Catalog, child: NodeInfo, info: InstanceInfo) -> None:
    """The registry's ``repair_merge_synced`` hook: recount every body at the pending
    merge ``child`` (its annotation and labelmap are repaired there already)."""
    view = catalog.pending_view(child, info.name)

    def run(txn: VersionedTxn) -> None:
        rebuild(txn, CatalogAccess(catalog), info, lambda n: catalog.pending_view(child, n))

    view.transact(run)


class _NoElements:
    """What a labelsz following nothing counts: nothing."""

    def kinds_of_body(self, body: int) -> dict[str, int]:
        return {}

    def positions_of_body(self, body: int, kind: str) -> np.ndarray:
        return np.zeros((0, 3), np.int64)
