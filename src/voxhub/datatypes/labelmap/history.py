"""Mutation history across versions, as DVID answers it: ``mutations-range``,
``history/{label}/{from}/{to}`` and ``supervoxel-splits``.

Every walk follows first parents, as DVID's (``GetAncestry``, ``getSequenceUUID``), one
node at a time and only as far as asked. Each node's records are read at that node
(:meth:`AtNode.mutations`: one short key range), never through its descendants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from voxhub.errors import InvalidRequest
from voxhub.versioning.dag import NodeInfo

#: the node a UUID (or ref) names (the catalog's ``node``)
NodeLookup = Callable[[str], NodeInfo]


class AtNode(Protocol):
    """What the walks read of the instance at one node (a ``LabelInstance``)."""

    def mutations(self, userid: str | None = None) -> list[dict[str, Any]]: ...

    def splits_here(self) -> list[list[int]]: ...

    def supervoxels(self, label: int) -> list[int]: ...

    def mapping(self, supervoxels: list[int]) -> list[int]: ...


@dataclass(frozen=True)
class Versions:
    """The instance at the other versions of its repo: how to find a node and open it."""

    node: NodeLookup
    open_at: Callable[[str], AtNode]


class MutationHistory:
    """The history routes' answers for the instance at node ``here``."""

    def __init__(self, here: str, versions: Versions) -> None:
        self.versions = versions
        self.here = versions.node(here)

    def resolve(self, ref: str) -> NodeInfo:
        """The node ``ref`` names, which must be a version of this node's repo."""
        node = self.versions.node(ref)
        if node.repo != self.here.repo:
            raise InvalidRequest(f"version {ref!r} is not in the repo of {self.here.uuid}")
        return node

    def mutations_range(self, beg: str, end: str) -> list[dict[str, Any]]:
        """The records of versions ``end`` back to ``beg`` (see :func:`sequence`)."""
        nodes = sequence(self.resolve(beg), self.resolve(end), self.versions.node)
        return range_records(nodes, self.versions.open_at)

    def label_history(self, label: int, old: str, new: str) -> list[dict[str, Any]]:
        """What made body ``label`` at version ``new`` since version ``old``."""
        first, last = self.resolve(old), self.resolve(new)
        nodes = sequence(first, last, self.versions.node)[::-1]
        records = range_records(nodes, self.versions.open_at)
        open_at = self.versions.open_at
        return label_history(label, open_at(first.uuid), open_at(last.uuid), records)

    def supervoxel_splits(self) -> list[Any]:
        return supervoxel_splits(self.here, self.versions.node, self.versions.open_at)


def first_parents(node: NodeInfo, lookup: NodeLookup) -> Iterator[NodeInfo]:
    """``node``, its first parent, that one's first parent... up to the repo root."""
    while True:
        yield node
        if not node.parents:
            return
        node = lookup(node.parents[0])


def sequence(beg: NodeInfo, end: NodeInfo, lookup: NodeLookup) -> list[NodeInfo]:
    """The nodes from ``end`` back to ``beg`` along first parents, both included (DVID's
    ``mutations-range`` order: ``end`` first). 400 if ``beg`` is not on that path (DVID
    then walks on to the root; answering that silently hides a wrong argument)."""
    if beg.repo != end.repo:
        raise InvalidRequest(f"{beg.uuid} and {end.uuid} are versions of different repos")
    path = []
    for node in first_parents(end, lookup):
        path.append(node)
        if node.uuid == beg.uuid:
            return path
        if node.version_id < beg.version_id:  # ancestors have lower ids: beg is not one
            break
    raise InvalidRequest(
        f"{beg.uuid} is not {end.uuid} or one of its first-parent ancestors: no version range"
    )


def range_records(
    nodes: Sequence[NodeInfo], open_at: Callable[[str], AtNode]
) -> list[dict[str, Any]]:
    """The records made at each of ``nodes``, node after node, oldest first within one."""
    return [r for node in nodes for r in open_at(node.uuid).mutations()]


def supervoxel_splits(
    node: NodeInfo, lookup: NodeLookup, open_at: Callable[[str], AtNode]
) -> list[Any]:
    """DVID's ``supervoxel-splits``: ``["uuid", [[mutid, old, remain, split], ...], ...]``
    for ``node`` and its first-parent ancestors that split supervoxels, nearest first."""
    out: list[Any] = []
    for each in first_parents(node, lookup):
        rows = open_at(each.uuid).splits_here()
        if rows:
            out += [each.uuid, rows]
    return out


def label_history(
    label: int, at_from: AtNode, at_to: AtNode, records: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """DVID's ``history``: of ``records`` (from the ``from`` version to ``to``, oldest
    first), the mutations of the bodies that, at ``from``, held supervoxels of ``label``
    at ``to``; in the short form DVID gives them (``Action`` without ``-complete``):
    merges into, cleaves from and splits of those bodies, splits of those supervoxels.

    DVID maps ``label``'s supervoxels at ``from`` as they are at ``to``; voxhub first
    follows split supervoxels back to the ones they were split from (which existed at
    ``from``) and follows renumbers forward, so that a body whose supervoxel was split, or
    that was renumbered, keeps its history. Renumbers themselves are not listed (DVID).
    """
    svs = set(at_to.supervoxels(label))
    for r in reversed(records):  # newest first: pieces of pieces lead back to originals
        for sv, pieces in _sv_splits(r):
            if svs & pieces:
                svs.add(sv)
    tracked = set(at_from.mapping(sorted(svs))) - {0}
    out: list[dict[str, Any]] = []
    for r in records:
        action = r["Action"]
        if action == "renumber-complete" and r["OrigLabel"] in tracked:
            tracked.add(r["NewLabel"])
        elif action == "merge-complete" and r["Target"] in tracked:
            out.append({"Action": "merge", "Target": r["Target"], "Labels": r["Labels"]})
        elif action == "cleave-complete" and r["OrigLabel"] in tracked:
            out.append({"Action": "cleave", **{k: r[k] for k in _CLEAVE}})
        elif action == "split-complete" and r["Target"] in tracked:
            split = {k: r[k] for k in ("Target", "NewLabel")}
            out.append({"Action": "split", **split, "Coarse": False})
        elif action == "split-supervoxel-complete" and r["Supervoxel"] in svs:
            out.append({"Action": "split-supervoxel", **{k: r[k] for k in _SV_PARTS}})
    return out


def _sv_splits(r: dict[str, Any]) -> list[tuple[int, set[int]]]:
    """``(supervoxel, {its parts})`` for each supervoxel the record ``r`` split."""
    if r["Action"] == "split-supervoxel-complete":
        return [(r["Supervoxel"], {r["SplitSupervoxel"], r["RemainSupervoxel"]})]
    if r["Action"] == "split-complete":
        cut = r.get("SVSplits", {})
        return [(int(sv), {p["Split"], p["Remain"]}) for sv, p in cut.items()]
    return []


_CLEAVE = ("OrigLabel", "CleavedLabel", "CleavedSupervoxels")
_SV_PARTS = ("Supervoxel", "SplitSupervoxel", "RemainSupervoxel")
