"""The catalog: repos, version nodes, branches and instances, persisted in the data store.

All metadata lives in the same ``KVStore`` as the data, under ``0x00`` keys (see
:mod:`voxhub.versioning.keys`), and every update is a compare-and-swap loop
(:mod:`voxhub.versioning.metastore`), so several processes can share one store.

Caching: a node's version id, repo, branch and parents never change, so they are cached
per ``Catalog`` (as are ancestor sets, in :class:`~voxhub.versioning.dag.Lineage`).
Everything mutable — locked flag, children, notes, logs, branch leaves, instances — is
re-read from the store on every call, so a commit made through another ``Catalog`` or
process is seen by the next operation here.

Creating a node writes its record first and links it into its parents' ``children``
second; a failure in between deletes the record again. A crash in between leaves an
unreachable record, which listings ignore (they only follow ``children`` links).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid as uuidlib
from collections.abc import Callable, Sequence
from typing import Any

from voxhub.errors import Conflict, InvalidRequest, NotFound
from voxhub.storage.base import KVStore
from voxhub.versioning import metastore, records
from voxhub.versioning.dag import (
    MASTER,
    Ancestry,
    Lineage,
    NodeInfo,
    RepoInfo,
    check_branch,
    check_commit,
    check_merge,
    check_newversion,
    check_open,
    new_uuid,
    now_iso,
    parse_ref,
    select_unique,
    validate_instance_name,
    walk_first_parents,
)
from voxhub.versioning.keys import meta_key, meta_range
from voxhub.versioning.records import InstanceInfo
from voxhub.versioning.view import VersionedKV

__all__ = ["Catalog", "InstanceInfo", "NodeInfo", "RepoInfo"]


def _node_key(uuid: str) -> bytes:
    return meta_key(f"node/{uuid}")


def _repo_key(root: str) -> bytes:
    return meta_key(f"repo/{root}")


def _branch_key(root: str, name: str) -> bytes:
    return meta_key(f"branch/{root}/{name}")


def _instance_key(root: str, name: str) -> bytes:
    return meta_key(f"inst/{root}/{name}")


class Catalog:
    """Repos, the version DAG and data instances of one store; see the module docstring."""

    def __init__(self, store: KVStore) -> None:
        self.store = store
        self._lineage = Lineage()
        self._static: dict[str, NodeInfo] = {}  # only immutable fields are trusted
        self._lock = threading.Lock()

    # -- node records ------------------------------------------------------------------
    def _read_node(self, uuid: str) -> NodeInfo:
        raw = self.store.get(_node_key(uuid))
        if raw is None:
            raise NotFound(f"could not find node {uuid}")
        node = records.decode_node(raw)
        if uuid not in self._static:
            with self._lock:
                self._static[uuid] = node
                self._lineage.add(node.version_id, node.parent_ids)
        return node

    def _static_node(self, uuid: str) -> NodeInfo:
        """A node whose immutable fields (id, repo, branch, parents) are all we need."""
        node = self._static.get(uuid)
        return node if node is not None else self._read_node(uuid)

    def _ancestry(self, uuid: str) -> Ancestry:
        node = self._static_node(uuid)
        if not self._lineage.has_ancestry(node.version_id):
            seen: set[str] = set()
            pending = list(node.parents)
            while pending:  # make every ancestor's parents known to the lineage
                parent = pending.pop()
                if parent not in seen:
                    seen.add(parent)
                    pending.extend(self._static_node(parent).parents)
        return self._lineage.ancestry(node.version_id)

    def _update_node(self, uuid: str, fn: Callable[[NodeInfo], NodeInfo]) -> NodeInfo:
        return metastore.update(
            self.store,
            _node_key(uuid),
            lambda raw: fn(records.decode_node(raw)),
            records.encode,
            f"could not find node {uuid}",
        )

    def _link_child(self, parent: str, child: str, rule: Callable[[NodeInfo], None]) -> None:
        def add(node: NodeInfo) -> NodeInfo:
            rule(node)
            return dataclasses.replace(node, children=(*node.children, child))

        self._update_node(parent, add)

    def _create_node(
        self, node: NodeInfo, links: Sequence[tuple[str, Callable[..., None]]]
    ) -> None:
        """Write ``node`` and link it into its parents (each link checks its rule)."""
        raw = records.encode(node)
        metastore.insert(self.store, _node_key(node.uuid), raw, f"node {node.uuid} exists")
        linked: list[str] = []
        try:
            for parent, rule in links:
                self._link_child(parent, node.uuid, rule)
                linked.append(parent)
        except BaseException:
            for parent in linked:  # only merges have several links; undo the done ones
                self._update_node(
                    parent,
                    lambda n: dataclasses.replace(
                        n, children=tuple(c for c in n.children if c != node.uuid)
                    ),
                )
            metastore.remove(self.store, _node_key(node.uuid), raw)
            raise

    def _child_branches(self, node: NodeInfo) -> list[str]:
        return [self._static_node(c).branch for c in node.children]

    # -- refs ---------------------------------------------------------------------------
    def _resolve(self, ref: str) -> str:
        """The UUID named by ``ref`` (see :func:`voxhub.versioning.dag.parse_ref`)."""
        parsed = parse_ref(ref)
        uuid: str | None = None
        if parsed.prefix:
            uuid = self._match_prefix(parsed.prefix)
        if parsed.branch is None:
            assert uuid is not None
            return walk_first_parents(uuid, parsed.steps, lambda u: self._static_node(u).parents)
        if uuid is not None:
            root = self._static_node(uuid).repo
        else:
            roots = [r.root for r in self.repos()]
            if not roots:
                raise NotFound(f"no repo exists to resolve {ref!r} in")
            if len(roots) > 1:
                raise InvalidRequest(
                    f"{ref!r}: a UUID must be given when more than one repo exists"
                )
            root = roots[0]
        path = self._branch_path(root, parsed.branch)
        if not path:
            raise NotFound(f"branch {parsed.branch!r} not found in repo {root}")
        if parsed.steps >= len(path):
            raise NotFound(f"branch {parsed.branch!r} has only {len(path)} versions ({ref!r})")
        return path[parsed.steps]

    def _match_prefix(self, prefix: str) -> str:
        if self.store.get(_node_key(prefix)) is not None:
            return prefix
        start, end = meta_range(f"node/{prefix}")
        skip = len(_node_key(""))
        matches = [k[skip:].decode() for k, _ in self.store.scan(start, end, keys_only=True)]
        return select_unique(prefix, matches)

    def _branch_path(self, root: str, branch: str) -> list[str]:
        """UUIDs from the branch leaf back to the repo root; [] for an unknown branch."""
        raw = self.store.get(_branch_key(root, branch))
        if raw is None:
            return []
        base = str(records.decode_dict(raw, "branch")["base"])
        if self.store.get(_node_key(base)) is None:
            return []  # reserved by a branch() still in progress (or that crashed)
        chain = [base]
        while True:  # a branch is a chain; after a merge, follow the earliest child
            node = self._read_node(chain[-1])
            nxt = [c for c in node.children if self._static_node(c).branch == branch]
            if not nxt:
                break
            chain.append(nxt[0])
        below = self._static_node(base).parents
        tail = self.log(below[0]) if below else []
        return chain[::-1] + [n.uuid for n in reversed(tail)]

    # -- repos --------------------------------------------------------------------------
    def create_repo(
        self, alias: str = "", description: str = "", *, root: str | None = None
    ) -> RepoInfo:
        """Create a repo with an open root node on branch master."""
        uuid = new_uuid(root)
        now = now_iso()
        vid = metastore.allocate_id(self.store, "version")
        node = NodeInfo(uuid, vid, uuid, MASTER, "", (), (), (), now, now, False, ())
        self._create_node(node, ())
        metastore.insert(
            self.store, _branch_key(uuid, MASTER), records.encode({"base": uuid}), "master"
        )
        repo = RepoInfo(uuid, alias, description, (), {}, now, now)
        metastore.insert(self.store, _repo_key(uuid), records.encode(repo), f"repo {uuid}")
        return repo

    def repos(self) -> list[RepoInfo]:
        """All repos, ordered by root UUID."""
        start, end = meta_range("repo/")
        return [records.decode_repo(v) for _, v in self.store.scan(start, end) if v]

    def repo(self, ref: str) -> RepoInfo:
        """The repo holding the node named by ``ref``."""
        root = self._static_node(self._resolve(ref)).repo
        raw = self.store.get(_repo_key(root))
        if raw is None:
            raise NotFound(f"could not find repo {root}")
        return records.decode_repo(raw)

    def _update_repo(self, ref: str, fn: Callable[[RepoInfo], RepoInfo]) -> RepoInfo:
        root = self.repo(ref).root
        return metastore.update(
            self.store,
            _repo_key(root),
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
        return self._read_node(self._resolve(ref))

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

        return self._update_node(self._resolve(ref), lock)

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
        check_newversion(parent, self._child_branches(parent))
        child = self._new_child([parent], parent.branch, note, uuid)
        rule = lambda p: check_newversion(p, self._child_branches(p))  # noqa: E731
        self._create_node(child, [(parent.uuid, rule)])
        return self._read_node(child.uuid)

    def branch(self, ref: str, name: str, *, note: str = "", uuid: str | None = None) -> NodeInfo:
        """Create an open child of a committed node on a new branch ``name``."""
        parent = self.node(ref)
        check_branch(parent, name, self._branch_names(parent.repo))
        child = self._new_child([parent], name, note, uuid)
        key = _branch_key(parent.repo, name)
        reservation = records.encode({"base": child.uuid})
        try:
            metastore.insert(self.store, key, reservation, "")
        except Conflict:
            raise Conflict(f"branch {name!r} already exists in repo {parent.repo}") from None
        try:
            self._create_node(child, [(parent.uuid, lambda p: None)])
        except BaseException:
            metastore.remove(self.store, key, reservation)
            raise
        return self._read_node(child.uuid)

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
    ) -> NodeInfo:
        """Create an open master child of committed ``parents`` (in priority order).

        Refused with ``MergeConflict`` if the parents changed a key differently, unless
        ``resolve``: then reads take the earliest parent's side (see ``dag``).
        """
        from voxhub.versioning.merge import check_conflicts

        nodes = [self.node(p) for p in parents]
        check_merge(nodes)
        if not resolve:
            ancestry = [self._ancestry(n.uuid) for n in nodes]  # loads the lineage
            del ancestry
            child_anc = self._lineage.virtual([n.version_id for n in nodes])
            check_conflicts(
                self.store,
                self.instances(nodes[0].uuid),
                child_anc,
                self._lineage,
                [n.uuid for n in nodes],
                describe,
            )
        child = self._new_child(nodes, MASTER, note, None)
        self._create_node(child, [(n.uuid, lambda p: None) for n in nodes])
        return self._read_node(child.uuid)

    def set_note(self, ref: str, note: str) -> NodeInfo:
        """Replace the note of an open node."""

        def change(node: NodeInfo) -> NodeInfo:
            check_open(node, "set the note of")
            return dataclasses.replace(node, note=note, updated=now_iso())

        return self._update_node(self._resolve(ref), change)

    def append_node_log(self, ref: str, lines: Sequence[str]) -> NodeInfo:
        """Append lines to the log of an open node."""
        new = tuple(str(line) for line in lines)

        def change(node: NodeInfo) -> NodeInfo:
            check_open(node, "append to the log of")
            return dataclasses.replace(node, log=node.log + new, updated=now_iso())

        return self._update_node(self._resolve(ref), change)

    def branch_versions(self, repo_ref: str, branch: str) -> list[str]:
        """UUIDs from the branch's leaf back to the repo root; ``[]`` if unknown."""
        return self._branch_path(self.repo(repo_ref).root, branch)

    def log(self, ref: str) -> list[NodeInfo]:
        """Nodes from the repo root to ``ref`` along first parents."""
        chain = [self.node(ref)]
        while chain[-1].parents:
            chain.append(self._read_node(chain[-1].parents[0]))
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
        root = self._static_node(self._resolve(repo_ref)).repo
        raw = self.store.get(_instance_key(root, name))
        if raw is None:
            raise NotFound(f"no data instance {name!r} in repo {root}")
        return records.decode_instance(raw)

    def instances(self, repo_ref: str) -> list[InstanceInfo]:
        """All instances of the repo, by name."""
        root = self._static_node(self._resolve(repo_ref)).repo
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
        uuid = self._resolve(ref)
        node = self._static_node(uuid)
        info = self.instance(uuid, instance)
        at = uuid if info.versioned else node.repo
        return VersionedKV(
            self.store,
            instance_id=info.instance_id,
            instance_name=info.name,
            version_id=self._static_node(at).version_id,
            node_uuid=uuid,
            node_key=_node_key(uuid),
            versioned=info.versioned,
            ancestry=self._ancestry(at),
            lineage=self._lineage,
        )

    def diff(self, a: str, b: str, instance: str) -> list[bytes]:
        """Sorted tkeys of ``instance`` whose visible values differ between ``a`` and ``b``."""
        from voxhub.versioning.diff import diff_views

        va, vb = self.view(a, instance), self.view(b, instance)
        if self._static_node(va.node_uuid).repo != self._static_node(vb.node_uuid).repo:
            raise InvalidRequest(f"nodes {a!r} and {b!r} belong to different repos")
        return diff_views(va, vb)


def _check_json(value: Any, what: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as e:
        raise InvalidRequest(f"{what} is not JSON-serialisable: {e}") from e
