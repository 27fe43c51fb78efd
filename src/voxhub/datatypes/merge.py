"""Merging version nodes with datatype knowledge: conflict reports that name blocks,
derived keys exempt from conflicts and recomputed at the merge child.

Both the numpy API and the HTTP server merge through :func:`merge_nodes`, so a merge
means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from voxhub.datatypes.registry import datatype_for
from voxhub.versioning.catalog import Catalog, InstanceInfo, NodeInfo


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
    Derived data (extents, pyramid levels) is recomputed at the new node.
    """
    child = catalog.merge(parents, note=note, resolve=resolve, describe=_describe, derived=_derived)
    first, others = child.parents[0], child.parents[1:]
    for inst in catalog.instances(child.uuid):
        repair = datatype_for(inst.typename).repair_merge
        if not inst.versioned or repair is None:
            continue
        changed: set[bytes] = set()
        for other in others:
            changed.update(catalog.diff(first, other, inst.name))
        views = [catalog.view(p, inst.name) for p in child.parents]
        repair(catalog.view(child.uuid, inst.name), inst.config, views, changed)
    return catalog.node(child.uuid)
