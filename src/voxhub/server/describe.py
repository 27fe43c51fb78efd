"""DVID-shaped JSON for repos, DAG nodes and data instances (``/api/repos/info`` & co).

neuroglancer's ``dvid://`` source parses every repo of ``/api/repos/info`` and gives up
on the whole server if one lacks a string ``Alias``/``Description``, an object
``DataInstances`` or ``DAG.Nodes``; an image instance also needs a string
``Base.Compression`` and non-null extents. Each datatype describes its own instances
through its registry hook ``describe_instance`` (images:
:mod:`voxhub.datatypes.imageblk.dvid_info`); a datatype without one gets ``Base`` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from voxhub.datatypes.dvid_base import dvid_base
from voxhub.datatypes.imageblk.dvid_info import TYPE_VERSION
from voxhub.datatypes.level_names import derived_levels
from voxhub.datatypes.registry import datatype_for
from voxhub.service import Service
from voxhub.service.auth.viewer import prune
from voxhub.versioning.catalog import InstanceInfo, NodeInfo, RepoInfo
from voxhub.versioning.dag import MASTER


def type_url(typename: str) -> str:
    """The ``TypeURL`` reported for a typename."""
    return f"github.com/voxhub/voxhub/datatypes/{datatype_for(typename).name}"


def instance_json(service: Service, info: InstanceInfo, at: str) -> dict[str, Any]:
    """DVID's instance info JSON (``Base``, ``Extended``, ``Extents``) seen at node ``at``.

    A datatype with a ``describe_instance`` hook answers exactly what its own ``GET info``
    route does.
    """
    describe = datatype_for(info.typename).describe_instance
    if describe is not None:
        return describe(service, at, info)
    return {
        "Base": dvid_base(
            info,
            type_url(info.typename),
            TYPE_VERSION,
            compression=str(info.config.get("compression", "none")),
        ),
        "Extended": {},
    }


def instances_json(
    service: Service, instances: Iterable[InstanceInfo], at: str
) -> dict[str, dict[str, Any]]:
    """``DataInstances`` of a repo seen at node ``at``: each instance, then each pyramid
    level under DVID's name ``<name>_N`` that no instance takes (:mod:`.level_names`)."""
    infos = list(instances)
    out = {i.name: instance_json(service, i, at) for i in infos}
    for name, base, level in derived_levels(infos):
        describe = datatype_for(base.typename).describe_level
        if describe is not None:
            out[name] = describe(service, at, base, level)
    return out


def node_json(node: NodeInfo, version_ids: dict[str, int]) -> dict[str, Any]:
    """One DAG node as DVID writes it (parents and children as version ids, master as "")."""
    return {
        "Branch": "" if node.branch == MASTER else node.branch,
        "Note": node.note,
        "Log": list(node.log),
        "UUID": node.uuid,
        "VersionID": node.version_id,
        "Locked": node.locked,
        "Parents": [version_ids.get(p, -1) for p in node.parents],
        "Children": [version_ids.get(c, -1) for c in node.children],
        "Created": node.created,
        "Updated": node.updated,
    }


def view_leaf(service: Service, repo: RepoInfo, visible: frozenset[str] | None) -> str:
    """The node whose extents describe the repo: the master leaf, or for a caller who sees
    only some nodes (``visible``) the newest of those on master (else the newest)."""
    leaf = service.catalog.node(f"{repo.root}:{MASTER}").uuid
    if visible is None or leaf in visible:
        return leaf
    nodes = [service.catalog.node(u) for u in visible]
    on_master = [n for n in nodes if n.branch == MASTER] or nodes
    return max(on_master, key=lambda n: n.version_id).uuid


def _around_instances(
    service: Service, repo: RepoInfo, visible: frozenset[str] | None
) -> tuple[Any, Any, str]:
    """The repo JSON's fields before and after ``DataInstances``, and the node the
    instances are described at (see :func:`repo_json`)."""
    nodes = prune(service.catalog.nodes(repo.root), visible)
    version_ids = {n.uuid: n.version_id for n in nodes}
    leaf = view_leaf(service, repo, visible)
    before = {
        "Root": repo.root,
        "Alias": repo.alias,
        "Description": repo.description,
        "Log": list(repo.log) if visible is None else [],
        "Properties": dict(repo.properties),
    }
    after = {
        "DAG": {
            "Root": repo.root,
            "Nodes": {n.uuid: node_json(n, version_ids) for n in nodes},
        },
        "MutationID": 0,
        "Created": repo.created,
        "Updated": repo.updated,
    }
    return before, after, leaf


def repo_json(
    service: Service, repo: RepoInfo, visible: frozenset[str] | None = None
) -> dict[str, Any]:
    """DVID's repo JSON; versioned properties (extents) come from the master leaf. With
    ``visible`` (a caller who may see only those nodes) the DAG holds only those, and the
    repo log (which names every node) is left out."""
    before, after, leaf = _around_instances(service, repo, visible)
    instances = instances_json(service, service.catalog.instances(repo.root), leaf)
    return {**before, "DataInstances": instances, **after}
