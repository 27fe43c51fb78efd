"""Merging version nodes with datatype knowledge: conflict reports that name blocks,
derived keys exempt from conflicts and recomputed at the merge child.

Both the numpy API and the HTTP server merge through :func:`merge_nodes`, so a merge
means the same thing everywhere.

A merge and its recomputed derived data (extents, pyramid, label index, maxlabel) are
one step: the child is created *pending* — invisible to every lookup — and published
only once every datatype has repaired its derived data there. If the repair fails, the
pending child and everything written at it are dropped, so the failed request leaves
nothing behind; if the process dies, the next ``Catalog`` opened on the store finishes it
(:func:`finish_merge`, registered with
:func:`voxhub.versioning.catalog.register_merge_finisher`).
"""

from __future__ import annotations

from collections.abc import Sequence

from voxhub.datatypes.registry import datatype_for
from voxhub.errors import MergeConflict
from voxhub.versioning.catalog import (
    Catalog,
    InstanceInfo,
    NodeInfo,
    register_merge_finisher,
)
from voxhub.versioning.dag import check_merge
from voxhub.versioning.merge import MAX_REPORTED


def _describe(inst: InstanceInfo, tkey: bytes) -> str:
    return datatype_for(inst.typename).describe_tkey(tkey)


def _derived(inst: InstanceInfo, tkey: bytes) -> bool:
    return datatype_for(inst.typename).is_derived(tkey)


def merge_nodes(
    catalog: Catalog, parents: Sequence[str], *, note: str = "", resolve: bool = False
) -> NodeInfo:
    """Merge committed ``parents`` (priority order) into a new open node on master.

    Raises :class:`~voxhub.errors.MergeConflict` naming each instance and block changed
    differently on several sides, unless ``resolve`` (then the earlier parent wins).
    Derived data (extents, pyramid levels) is recomputed at the new node before it
    becomes visible.
    """
    child = begin_merge(catalog, parents, note=note, resolve=resolve)
    try:
        finish_merge(catalog, child)
    except BaseException:
        catalog.abandon_merge(child.uuid)
        raise
    return catalog.node(child.uuid)


def begin_merge(
    catalog: Catalog, parents: Sequence[str], *, note: str = "", resolve: bool = False
) -> NodeInfo:
    """The first half of :func:`merge_nodes`: check conflicts, create the pending child."""
    if not resolve:
        nodes = [catalog.node(p) for p in parents]
        check_merge(nodes)  # the catalog checks again; items are compared only if valid
        _check_items(catalog, [n.uuid for n in nodes])
    return catalog.begin_merge(
        parents, note=note, resolve=resolve, describe=_describe, derived=_derived
    )


def _check_items(catalog: Catalog, parents: Sequence[str]) -> None:
    """Refuse a merge whose parents changed items of an item-merged datatype (annotation
    elements) differently, naming them (the key-level check exempts their keys)."""
    report: dict[str, list[str]] = {}
    for inst in catalog.instances(parents[0]):
        check = datatype_for(inst.typename).check_merge
        if inst.versioned and check is not None:
            found = check(catalog, parents, inst)
            if found:
                report[inst.name] = found[:MAX_REPORTED]
    if report:
        summary = ", ".join(f"{name!r}: {len(items)}" for name, items in report.items())
        raise MergeConflict(
            f"merge of {', '.join(parents)} refused: the parents changed items differently "
            f"({summary}); merge with resolve to let the first parent's side win",
            report,
        )


def finish_merge(catalog: Catalog, child: NodeInfo) -> None:
    """Recompute derived data at the pending merge ``child``, then publish it."""
    first, others = child.parents[0], child.parents[1:]
    for inst in catalog.instances(first):
        datatype = datatype_for(inst.typename)
        repair = datatype.repair_merge
        if not inst.versioned or (repair is None and datatype.repair_merge_at is None):
            continue
        changed: set[bytes] = set()
        for other in others:
            changed.update(catalog.diff(first, other, inst.name))
        if datatype.repair_merge_at is not None:
            datatype.repair_merge_at(catalog, child, inst, changed)
            continue
        assert repair is not None
        views = [catalog.view(p, inst.name) for p in child.parents]
        repair(catalog.pending_view(child, inst.name), inst.config, views, changed)
    _repair_followers(catalog, child)
    catalog.publish_merge(child.uuid)


def _repair_followers(catalog: Catalog, child: NodeInfo) -> None:
    """Recount, at the pending ``child``, the derived data of instances that follow
    others (labelsz), once every instance's own derived data is repaired there."""
    for inst in catalog.instances(child.parents[0]):
        repair = datatype_for(inst.typename).repair_merge_synced
        if inst.versioned and repair is not None:
            repair(catalog, child, inst)


register_merge_finisher(finish_merge)
