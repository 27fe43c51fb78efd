"""Merging version nodes element by element.

Elements are stored by block, but two branches that edit different elements of one block
do not conflict: an element conflicts when both sides changed it differently since their
merge base (the nearest common ancestor; with several, the one the first parent reaches
first). :func:`check_merge` reports such elements by position before the merge node is
made (the merge is then refused, unless resolved: the first parent's element wins);
:func:`repair_merge_at` writes each block changed on any side as the three-way merge of
its elements, then recomputes the derived data (references, filings, supervoxel indexes)
at the merge node where the parents disagree (:mod:`.merge_derived`), from its elements
and the synced labelmap's voxels there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from voxhub.datatypes.annotation.codec import encode_block
from voxhub.datatypes.annotation.config import block_shape
from voxhub.datatypes.annotation.elements import Elements, concat, format_pos, key_positions
from voxhub.datatypes.annotation.keys import BLOCK, block_of, block_tkey
from voxhub.datatypes.annotation.merge_derived import repair_derived
from voxhub.datatypes.annotation.stored import read_blocks
from voxhub.datatypes.annotation.tags import repair_tags
from voxhub.geometry import Vec3
from voxhub.versioning.catalog import Catalog, InstanceInfo, NodeInfo
from voxhub.versioning.protocols import VersionedTxn


def merge_base(catalog: Catalog, parents: Sequence[str]) -> str | None:
    """The nearest common ancestor of ``parents`` (see the module docstring)."""
    infos = [catalog.node(p) for p in parents]
    nodes = {n.uuid: n for n in catalog.nodes(infos[0].repo)}

    def ancestors(uuid: str) -> list[str]:
        order, stack, seen = [], [uuid], set()
        while stack:  # depth-first, first parent first: nearest ancestors come early
            u = stack.pop(0)
            if u in seen:
                continue
            seen.add(u)
            order.append(u)
            stack.extend(nodes[u].parents)
        return order

    first = ancestors(infos[0].uuid)
    common = set(first).intersection(*(set(ancestors(n.uuid)) for n in infos[1:]))
    return next((u for u in first if u in common), None)


def _records(batch: Elements) -> dict[int, bytes]:
    """Each element's bytes by position key (equal bytes: equal elements)."""
    keys = batch.keys().tolist()
    out = {}
    for i, key in enumerate(keys):
        one = batch.take(np.asarray([i]))
        extra = json.dumps(one.extra[0]).encode() if one.extra[0] is not None else b""
        out[key] = (
            encode_block(
                Elements(
                    one.pos,
                    one.kind,
                    one.rel_start,
                    one.rel_kind,
                    one.rel_to,
                    np.full(1, None, object),
                )
            )
            + extra
        )
    return out


def _three_way(base: Elements, sides: list[Elements]) -> tuple[Elements, list[int]]:
    """The merged elements of a block (the first changed side wins a conflict) and the
    position keys changed differently on several sides."""
    was = _records(base)
    now = [_records(s) for s in sides]
    merged: list[Elements] = []
    conflicts: list[int] = []
    for key in sorted(set(was).union(*now)):
        changed = [(i, n.get(key)) for i, n in enumerate(now) if n.get(key) != was.get(key)]
        if len({v for _, v in changed}) > 1:
            conflicts.append(key)
        source = changed[0][0] if changed else None
        if source is None:
            if key in was:
                merged.append(_pick(base, key))
        elif now[source].get(key) is not None:
            merged.append(_pick(sides[source], key))
    return concat(merged).sorted(), conflicts


def _pick(batch: Elements, key: int) -> Elements:
    return batch.take(np.flatnonzero(batch.keys() == key))


def _changed_blocks(catalog: Catalog, parents: Sequence[str], name: str) -> list[Vec3]:
    changed: set[bytes] = set()
    for other in parents[1:]:
        changed.update(catalog.diff(parents[0], other, name))
    return sorted(block_of(t) for t in changed if t[:1] == BLOCK)


def _sides(
    catalog: Catalog, parents: Sequence[str], name: str, blocks: list[Vec3]
) -> tuple[dict[Vec3, Elements], list[dict[Vec3, Elements]]]:
    base_uuid = merge_base(catalog, parents)
    base = read_blocks(catalog.view(base_uuid, name), blocks) if base_uuid else {}
    sides = [read_blocks(catalog.view(p, name), blocks) for p in parents]
    return base, sides


def diff_items(
    catalog: Catalog, a: str, b: str, info: InstanceInfo, tkeys: list[bytes]
) -> list[str]:
    """The elements that differ between nodes ``a`` and ``b`` (``tkeys``: the keys that
    differ), by position; derived keys name nothing of their own."""
    blocks = sorted(block_of(t) for t in tkeys if t[:1] == BLOCK)
    at_a = read_blocks(catalog.view(a, info.name), blocks)
    at_b = read_blocks(catalog.view(b, info.name), blocks)
    found: list[int] = []
    for block in blocks:
        old = _records(at_a.get(block, Elements.empty()))
        new = _records(at_b.get(block, Elements.empty()))
        found.extend(k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))
    return [f"element at {format_pos(p)}" for p in key_positions(np.asarray(found, np.int64))]


def check_merge(catalog: Catalog, parents: Sequence[str], info: InstanceInfo) -> list[str]:
    """The elements changed differently on several sides of a merge of ``parents``."""
    blocks = _changed_blocks(catalog, parents, info.name)
    if not blocks:
        return []
    base, sides = _sides(catalog, parents, info.name, blocks)
    found: list[str] = []
    for block in blocks:
        _, conflicts = _three_way(
            base.get(block, Elements.empty()), [s.get(block, Elements.empty()) for s in sides]
        )
        found.extend(f"element at {format_pos(p)}" for p in key_positions(np.asarray(conflicts)))
    return found


def repair_merge_at(
    catalog: Catalog, child: NodeInfo, info: InstanceInfo, changed: set[bytes]
) -> None:
    """Write the merged blocks at the pending merge node ``child`` and recompute the
    derived data the parents disagree on there (one transaction)."""
    if not changed:
        return
    parents = list(child.parents)
    blocks = sorted(block_of(t) for t in changed if t[:1] == BLOCK)
    base, sides = _sides(catalog, parents, info.name, blocks)
    view = catalog.pending_view(child, info.name)
    parent_views = [catalog.view(p, info.name) for p in parents]
    labels_name = next(
        (
            n
            for n in info.config.get("sync", [])
            if catalog.instance(info.repo, n).typename == "labelmap"
        ),
        None,
    )

    def run(txn: VersionedTxn) -> None:
        for block in blocks:
            merged, _ = _three_way(
                base.get(block, Elements.empty()), [s.get(block, Elements.empty()) for s in sides]
            )
            if len(merged):
                txn.put(block_tkey(block), encode_block(merged))
            else:
                txn.delete(block_tkey(block))
        repair_tags(txn, parent_views, changed)
        labels = None
        if labels_name is not None:
            from voxhub.datatypes.registry import datatype_for

            lm = catalog.instance(info.repo, labels_name)
            make = datatype_for(lm.typename).label_source
            if make is not None:
                labels = make(txn.joined(catalog.pending_view(child, lm.name)), lm)
        repair_derived(txn, block_shape(info.config), labels, parent_views, changed)

    view.transact(run)
