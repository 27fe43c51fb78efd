"""``/api/repos/info`` at the cost of what it sends: each repo's JSON kept serialised.

Everything in a repo's JSON but ``DataInstances`` depends on the repo's records only,
and the DAG lists every node (megabytes at 10⁵ nodes), so it is kept as bytes in the
service's :class:`~voxhub.service.repo_cache.RepoCache`, one ``"uuid":{...}`` fragment
per node. While the repo's generation is unchanged a request reads one key and sends
the bytes; after a change, only the node records the change touched are read and encoded
again (the generation record names them,
:mod:`voxhub.versioning.generations`) and the fragments are joined once more; a reader
too far behind, or a change out of creation order (a merge published after newer
nodes), rebuilds from the catalog. Callers who see only some nodes (``visible``) get
values of their own per visible set, rebuilt on every change. The instance descriptions
hold data (extents, labels) that writes change without touching the records, so they
are described afresh on every request: their cost is their number.

The bytes equal :func:`voxhub.server.describe.repo_json` serialised compactly (the tests
compare them after every kind of change).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from voxhub.server.describe import instances_json, node_json, view_leaf
from voxhub.service import Service
from voxhub.service.auth.viewer import prune
from voxhub.versioning.catalog import InstanceInfo, NodeInfo, RepoInfo

_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class RepoParts:
    """A repo's JSON without ``DataInstances``: all that only its records decide."""

    head: bytes  #: ``{"Root": ..., "Properties": {...},"DataInstances":``
    dag: bytes  #: ``,"DAG":{"Root":...,"Nodes":{...}}``
    tail: bytes  #: ``,"MutationID": 0, ..., "Updated": ...}``
    leaf: str  #: the node whose data the instances are described at
    instances: tuple[InstanceInfo, ...]
    fragments: dict[str, bytes]  #: ``"uuid":{node JSON}`` per node shown, creation order
    version_ids: dict[str, int]  #: of the nodes shown
    newest: int  #: the largest of them


def _fragment(node: NodeInfo, version_ids: dict[str, int]) -> bytes:
    return (_encode(node.uuid) + ":" + _encode(node_json(node, version_ids))).encode()


def _assemble(
    service: Service,
    repo: RepoInfo,
    visible: frozenset[str] | None,
    fragments: dict[str, bytes],
    version_ids: dict[str, int],
    newest: int | None = None,
) -> RepoParts:
    before = {
        "Root": repo.root,
        "Alias": repo.alias,
        "Description": repo.description,
        "Log": list(repo.log) if visible is None else [],
        "Properties": dict(repo.properties),
    }
    after = {"MutationID": 0, "Created": repo.created, "Updated": repo.updated}
    head = (_encode(before)[:-1] + ',"DataInstances":').encode()
    root = _encode(repo.root).encode()
    # one copy of the (possibly huge) node list: the request joins the parts once more
    dag = b"".join((b',"DAG":{"Root":', root, b',"Nodes":{', b",".join(fragments.values())))
    tail = b"}}," + _encode(after)[1:].encode()
    instances = tuple(service.catalog.instances(repo.root))
    leaf = view_leaf(service, repo, visible)
    newest = max(version_ids.values(), default=0) if newest is None else newest
    return RepoParts(head, dag, tail, leaf, instances, fragments, version_ids, newest)


def build_parts(service: Service, root: str, visible: frozenset[str] | None) -> RepoParts:
    """A repo's parts from its records (read here: after the cache read the generation)."""
    repo = service.catalog.repo(root)
    nodes = prune(service.catalog.nodes(root), visible)
    version_ids = {n.uuid: n.version_id for n in nodes}
    fragments = {n.uuid: _fragment(n, version_ids) for n in nodes}
    return _assemble(service, repo, visible, fragments, version_ids)


def update_parts(
    service: Service, root: str, old: RepoParts, touched: set[str]
) -> RepoParts | None:
    """``old`` with the node records in ``touched`` read and encoded again (every caller
    sees every node); ``None`` if they cannot simply be patched in."""
    repo = service.catalog.repo(root)
    nodes = sorted((service.catalog.node(u) for u in touched), key=lambda n: n.version_id)
    version_ids = dict(old.version_ids)
    newest = old.newest
    for node in nodes:
        if node.uuid not in version_ids:
            if node.version_id < newest:  # out of creation order: the listing differs
                return None
            version_ids[node.uuid] = node.version_id
            newest = node.version_id
    fragments = dict(old.fragments)  # a copy: other requests may be sending ``old``
    for node in nodes:
        if any(u not in version_ids for u in (*node.parents, *node.children)):
            return None
        fragments[node.uuid] = _fragment(node, version_ids)
    return _assemble(service, repo, None, fragments, version_ids, newest)


def repo_json_parts(
    service: Service, root: str, visible: frozenset[str] | None = None
) -> list[bytes]:
    """:func:`~voxhub.server.describe.repo_json` of the repo ``root`` as byte strings to
    send one after the other, at the cost of what it sends (see the module docstring)."""
    if visible is None:
        parts = service.repo_cache.get(
            "dvid-repo-json",
            root,
            lambda: build_parts(service, root, None),
            lambda old, touched: update_parts(service, root, old, touched),
        )
    else:
        kind = f"dvid-repo-json/{_digest(visible)}"
        parts = service.repo_cache.get(kind, root, lambda: build_parts(service, root, visible))
    described = instances_json(service, parts.instances, parts.leaf)
    return [parts.head, _encode(described).encode(), parts.dag, parts.tail]


def repo_json_bytes(service: Service, root: str, visible: frozenset[str] | None = None) -> bytes:
    """:func:`repo_json_parts` joined."""
    return b"".join(repo_json_parts(service, root, visible))


def _digest(visible: frozenset[str]) -> str:
    return hashlib.blake2b("\n".join(sorted(visible)).encode(), digest_size=16).hexdigest()


def repos_json_bytes(service: Service, repos: list[tuple[str, frozenset[str] | None]]) -> bytes:
    """``{root: repo JSON, ...}`` (``/api/repos/info``) of ``(root, visible)`` pairs,
    joined once."""
    out = [b"{"]
    for i, (root, visible) in enumerate(repos):
        out += [b"," if i else b"", _encode(root).encode(), b":"]
        out += repo_json_parts(service, root, visible)
    out.append(b"}")
    return b"".join(out)
