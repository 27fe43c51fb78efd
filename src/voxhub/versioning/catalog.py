"""The catalog: repos, version nodes, branches and instances, persisted in the data store.

All metadata lives in the same ``KVStore`` as the data, under ``0x00`` keys (see
:mod:`voxhub.versioning.keys`), and every update is a compare-and-swap loop
(:mod:`voxhub.versioning.metastore`), so several processes can share one store.

Node records, their cache of immutable facts, ref resolution and branch paths live in
:mod:`voxhub.versioning.nodes`; mutable state is re-read on every call, so a commit made
through another ``Catalog`` or process is seen by the next operation here.

Known cost: listing a repo's nodes scans every node record of the store, and resolving a
branch leaf reads each node of the branch; a per-repo index can replace both later.
"""

from __future__ import annotations

import dataclasses
import json
import uuid as uuidlib
from collections.abc import Callable, Sequence
from typing import Any

from voxhub.errors import Conflict, InvalidRequest, NotFound
from voxhub.storage.base import KVStore
from voxhub.versioning import metastore, records
from voxhub.versioning.dag import (
    MASTER,
    NodeInfo,
    RepoInfo,
    check_branch,
    check_commit,
    check_merge,
    check_newversion,
    check_open,
    new_uuid,
    now_iso,
    validate_instance_name,
)
from voxhub.versioning.keys import meta_key, meta_range
from voxhub.versioning.nodes import NodeRecords, branch_key, node_key, repo_key
from voxhub.versioning.records import InstanceInfo
from voxhub.versioning.view import VersionedKV

__all__ = ["Catalog", "InstanceInfo", "NodeInfo", "RepoInfo"]


def _instance_key(root: str, name: str) -> bytes:
    return meta_key(f"inst/{root}/{name}")


class Catalog:
    """Repos, the version DAG and data instances of one store; see the module docstring."""

    def __init__(self, store: KVStore) -> None:
        metastore.check_layout(store)
        self.store = store
        self._nodes = NodeRecords(store)

    # -- repos --------------------------------------------------------------------------
    def create_repo(
        self, alias: str = "", description: str = "", *, root: str | None = None
    ) -> RepoInfo:
        """Create a repo with an open root node on branch master."""
        uuid = new_uuid(root)
        metastore.record_layout(self.store)
        now = now_iso()
        vid = metastore.allocate_id(self.store, "version")
        node = NodeInfo(uuid, vid, uuid, MASTER, "", (), (), (), now, now, False, ())
        self._nodes.create(node, ())
        metastore.insert(
            self.store, branch_key(uuid, MASTER), records.encode({"base": uuid}), "master"
        )
        repo = RepoInfo(uuid, alias, description, (), {}, now, now)
        metastore.insert(self.store, repo_key(uuid), records.encode(repo), f"repo {uuid}")
        return repo

    def repos(self) -> list[RepoInfo]:
        """All repos, ordered by root UUID."""
        start, end = meta_range("repo/")
        return [records.decode_repo(v) for _, v in self.store.scan(start, end) if v]

    def repo(self, ref: str) -> RepoInfo:
        """The repo holding the node named by ``ref``."""
        root = self._nodes.static(self._nodes.resolve(ref)).repo
        raw = self.store.get(repo_key(root))
        if raw is None:
            raise NotFound(f"could not find repo {root}")
        return records.decode_repo(raw)

    def _update_repo(self, ref: str, fn: Callable[[RepoInfo], RepoInfo]) -> RepoInfo:
        root = self.repo(ref).root
        return metastore.update(
            self.store,
            repo_key(root),
            lambda raw: dataclasses.replace(fn(records.decode_repo(raw)), updated=now_iso()),
            records.encode,
            f"could not find repo {root}",
        )

    def update_repo(
        self,
        ref: str,
        *,
        alias: str | None = None,
        description: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> RepoInfo:
        """Change the repo's alias, description or properties (``None`` = keep)."""
        if properties is not None:
            _check_json(properties, "repo properties")
        changes: dict[str, Any] = {
            k: v
            for k, v in (("alias", alias), ("description", description), ("properties", properties))
            if v is not None
        }
        return self._update_repo(ref, lambda r: dataclasses.replace(r, **changes))

    def append_repo_log(self, ref: str, lines: Sequence[str]) -> RepoInfo:
        """Append lines to the repo log."""
        new = tuple(str(line) for line in lines)
        return self._update_repo(ref, lambda r: dataclasses.replace(r, log=r.log + new))

    # -- nodes --------------------------------------------------------------------------
    def node(self, ref: str) -> NodeInfo:
        """The current state of the node named by ``ref``."""
        return self._nodes.read(self._nodes.resolve(ref))

    def nodes(self, repo_ref: str) -> list[NodeInfo]:
        """Every node of the repo, in creation order."""
        root = self.repo(repo_ref).root
        start, end = meta_range("node/")
        found = [records.decode_node(v) for _, v in self.store.scan(start, end) if v]
        mine = {n.uuid: n for n in found if n.repo == root}
        linked = {root} | {c for n in mine.values() for c in n.children}
        return sorted((n for n in mine.values() if n.uuid in linked), key=lambda n: n.version_id)

    def commit(self, ref: str, *, note: str | None = None, log: Sequence[str] = ()) -> NodeInfo:
        """Lock an open node for good, optionally setting its note and adding log lines."""
        lines = tuple(str(line) for line in log)

        def lock(node: NodeInfo) -> NodeInfo:
            check_commit(node)
            return dataclasses.replace(
                node,
                locked=True,
                note=node.note if note is None else note,
                log=node.log + lines,
                updated=now_iso(),
            )

        return self._nodes.update(self._nodes.resolve(ref), lock)

    def _new_child(
        self, parents: Sequence[NodeInfo], branch: str, note: str, uuid: str | None
    ) -> NodeInfo:
        now = now_iso()
        child_uuid = new_uuid(uuid)
        return NodeInfo(
            uuid=child_uuid,
            version_id=metastore.allocate_id(self.store, "version"),
            repo=parents[0].repo,
            branch=branch,
            note=note,
            log=(),
            parents=tuple(p.uuid for p in parents),
            children=(),
            created=now,
            updated=now,
            locked=False,
            parent_ids=tuple(p.version_id for p in parents),
        )

    def newversion(self, ref: str, *, note: str = "", uuid: str | None = None) -> NodeInfo:
        """Create an open child on the parent's branch (parent committed, no such child)."""
        parent = self.node(ref)
        check_newversion(parent, self._nodes.child_branches(parent))
        child = self._new_child([parent], parent.branch, note, uuid)
        rule = lambda p: check_newversion(p, self._nodes.child_branches(p))  # noqa: E731
        self._nodes.create(child, [(parent.uuid, rule)])
        return self._nodes.read(child.uuid)

    def branch(self, ref: str, name: str, *, note: str = "", uuid: str | None = None) -> NodeInfo:
        """Create an open child of a committed node on a new branch ``name``."""
        parent = self.node(ref)
        check_branch(parent, name, self._branch_names(parent.repo))
        child = self._new_child([parent], name, note, uuid)
        key = branch_key(parent.repo, name)
        reservation = records.encode({"base": child.uuid})
        try:
            metastore.insert(self.store, key, reservation, "")
        except Conflict:
            raise Conflict(f"branch {name!r} already exists in repo {parent.repo}") from None
        try:
            self._nodes.create(child, [(parent.uuid, lambda p: None)])
        except BaseException:
            metastore.remove(self.store, key, reservation)
            raise
        return self._nodes.read(child.uuid)

    def _branch_names(self, root: str) -> set[str]:
        start, end = meta_range(f"branch/{root}/")
        skip = len(start)
        return {k[skip:].decode() for k, _ in self.store.scan(start, end, keys_only=True)}

    def merge(
        self,
        parents: Sequence[str],
        *,
        note: str = "",
        resolve: bool = False,
        describe: Callable[[InstanceInfo, bytes], str] | None = None,
        derived: Callable[[InstanceInfo, bytes], bool] | None = None,
    ) -> NodeInfo:
        """Create an open master child of committed ``parents`` (in priority order).

        Refused with ``MergeConflict`` if the parents changed a key differently, unless
        ``resolve``: then reads take the earliest parent's side (see ``dag``). Keys for
        which ``derived`` is true are exempt (see :mod:`voxhub.versioning.merge`).
        """
        from voxhub.versioning.merge import check_conflicts

        nodes = [self.node(p) for p in parents]
        check_merge(nodes)
        if not resolve:
            ancestry = [self._nodes.ancestry(n.uuid) for n in nodes]  # loads the lineage
            del ancestry
            child_anc = self._nodes.lineage.virtual([n.version_id for n in nodes])
            check_conflicts(
                self.store,
                self.instances(nodes[0].uuid),
                child_anc,
                self._nodes.lineage,
                [n.uuid for n in nodes],
                describe,
                derived,
            )
        child = self._new_child(nodes, MASTER, note, None)
        self._nodes.create(child, [(n.uuid, lambda p: None) for n in nodes])
        return self._nodes.read(child.uuid)

    def set_note(self, ref: str, note: str) -> NodeInfo:
        """Replace the note of an open node."""

        def change(node: NodeInfo) -> NodeInfo:
            check_open(node, "set the note of")
            return dataclasses.replace(node, note=note, updated=now_iso())

        return self._nodes.update(self._nodes.resolve(ref), change)

    def append_node_log(self, ref: str, lines: Sequence[str]) -> NodeInfo:
        """Append lines to the log of an open node."""
        new = tuple(str(line) for line in lines)

        def change(node: NodeInfo) -> NodeInfo:
            check_open(node, "append to the log of")
            return dataclasses.replace(node, log=node.log + new, updated=now_iso())

        return self._nodes.update(self._nodes.resolve(ref), change)

    def branch_versions(self, repo_ref: str, branch: str) -> list[str]:
        """UUIDs from the branch's leaf back to the repo root; ``[]`` if unknown."""
        return self._nodes.branch_path(self.repo(repo_ref).root, branch)

    def log(self, ref: str) -> list[NodeInfo]:
        """Nodes from the repo root to ``ref`` along first parents."""
        chain = [self.node(ref)]
        while chain[-1].parents:
            chain.append(self._nodes.read(chain[-1].parents[0]))
        return chain[::-1]

    # -- instances ----------------------------------------------------------------------
    def create_instance(
        self,
        repo_ref: str,
        name: str,
        typename: str,
        config: dict[str, Any],
        *,
        versioned: bool = True,
        at: str | None = None,
    ) -> InstanceInfo:
        """Create a uniquely named instance; ``at`` (default: master leaf) must be open."""
        validate_instance_name(name)
        _check_json(config, f"config of instance {name!r}")
        root = self.repo(repo_ref).root
        node = self.node(at if at is not None else f"{root}:{MASTER}")
        if node.repo != root:
            raise InvalidRequest(f"node {node.uuid} is not in repo {root}")
        check_open(node, f"create instance {name!r} at")
        key = _instance_key(root, name)
        if self.store.get(key) is not None:
            raise Conflict(f"instance {name!r} already exists in repo {root}")
        info = InstanceInfo(
            name=name,
            typename=typename,
            instance_id=metastore.allocate_id(self.store, "instance"),
            repo=root,
            data_uuid=uuidlib.uuid4().hex,
            versioned=versioned,
            created_at=now_iso(),
            config=dict(config),
        )
        metastore.insert(
            self.store,
            key,
            records.encode(info),
            f"instance {name!r} already exists in repo {root}",
        )
        return info

    def instance(self, repo_ref: str, name: str) -> InstanceInfo:
        """The instance ``name`` of the repo holding ``repo_ref``."""
        root = self._nodes.static(self._nodes.resolve(repo_ref)).repo
        raw = self.store.get(_instance_key(root, name))
        if raw is None:
            raise NotFound(f"no data instance {name!r} in repo {root}")
        return records.decode_instance(raw)

    def instances(self, repo_ref: str) -> list[InstanceInfo]:
        """All instances of the repo, by name."""
        root = self._nodes.static(self._nodes.resolve(repo_ref)).repo
        start, end = meta_range(f"inst/{root}/")
        return [records.decode_instance(v) for _, v in self.store.scan(start, end) if v]

    def update_instance_config(
        self, repo_ref: str, name: str, fn: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> InstanceInfo:
        """Replace an instance's config by ``fn(old_config)`` (CAS loop; fn may rerun)."""
        root = self.instance(repo_ref, name).repo

        def change(raw: bytes) -> InstanceInfo:
            info = records.decode_instance(raw)
            config = fn(dict(info.config))
            _check_json(config, f"config of instance {name!r}")
            return dataclasses.replace(info, config=config)

        return metastore.update(
            self.store,
            _instance_key(root, name),
            change,
            records.encode,
            f"no data instance {name!r} in repo {root}",
        )

    # -- data ---------------------------------------------------------------------------
    def view(self, ref: str, instance: str) -> VersionedKV:
        """The versioned key-value view of ``instance`` at the node ``ref``."""
        uuid = self._nodes.resolve(ref)
        node = self._nodes.static(uuid)
        info = self.instance(uuid, instance)
        at = uuid if info.versioned else node.repo
        return VersionedKV(
            self.store,
            instance_id=info.instance_id,
            instance_name=info.name,
            version_id=self._nodes.static(at).version_id,
            node_uuid=uuid,
            node_key=node_key(uuid),
            versioned=info.versioned,
            ancestry=self._nodes.ancestry(at),
            lineage=self._nodes.lineage,
        )

    def diff(self, a: str, b: str, instance: str) -> list[bytes]:
        """Sorted tkeys of ``instance`` whose visible values differ between ``a`` and ``b``."""
        from voxhub.versioning.diff import diff_views

        va, vb = self.view(a, instance), self.view(b, instance)
        if self._nodes.static(va.node_uuid).repo != self._nodes.static(vb.node_uuid).repo:
            raise InvalidRequest(f"nodes {a!r} and {b!r} belong to different repos")
        return diff_views(va, vb)


def _check_json(value: Any, what: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as e:
        raise InvalidRequest(f"{what} is not JSON-serialisable: {e}") from e
