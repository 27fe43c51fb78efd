"""The catalog: repos, version nodes, branches and instances, persisted in the data store.

All metadata lives in the same ``KVStore`` as the data, under ``0x00`` keys (see
:mod:`voxhub.versioning.keys`). Creating a repo or a node is one store transaction that
also maintains the per-repo indexes (:mod:`voxhub.versioning.nodes`), so lookups such as
``uuid:master``, a repo's node list or an ancestry never scan the DAG. Every other
change is a store transaction too (several processes can share one store), and each
bumps the repo's generation (:meth:`Catalog.generation`) in that transaction. Mutable
state is re-read on every call, so a commit made through another ``Catalog`` or process
is seen by the next operation here.

Merges that recompute derived data are created *pending* (:meth:`Catalog.begin_merge`):
invisible to every lookup until :meth:`Catalog.publish_merge`, dropped by
:meth:`Catalog.abandon_merge`, and finished after a crash by :meth:`Catalog.recover_merges`
with the finisher the datatype layer registers (:func:`register_merge_finisher`).
"""

from __future__ import annotations

import dataclasses
import json
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from voxhub.errors import Conflict, InvalidRequest, NotFound, ReadOnlyError
from voxhub.storage.base import KVStore, Txn
from voxhub.versioning import generations, metastore, node_log, pending, records, writesets
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
from voxhub.versioning.decoded import DecodedRecords
from voxhub.versioning.keys import meta_key, meta_range
from voxhub.versioning.nodes import (
    NodeRecords,
    alias_key,
    chunk_key,
    next_id,
    node_key,
    owner_key,
    pending_key,
    repo_key,
)
from voxhub.versioning.records import InstanceInfo
from voxhub.versioning.view import VersionedKV

__all__ = ["Catalog", "InstanceInfo", "NodeInfo", "RepoInfo"]


#: instance records decoded once per distinct stored bytes (every instance request reads one)
_DECODED_INSTANCES = DecodedRecords("instance_decoded", records.decode_instance)


def _instance_key(root: str, name: str) -> bytes:
    return meta_key(f"inst/{root}/{name}")


#: finishes a pending merge (recomputes derived data, then publishes); registered by the
#: datatype layer, which knows what is derived.
MergeFinisher = Callable[["Catalog", NodeInfo], None]
_finishers: list[MergeFinisher] = []


def _no_rule(parent: NodeInfo, txn: Txn) -> None:
    """Merge parents are committed, hence immutable: nothing to recheck."""


#: UTF-8 bytes of a repo alias (hex in its index key, well under LMDB's 511-byte keys)
MAX_ALIAS_BYTES = 200


def _claim_alias(txn: Txn, alias: str, root: str) -> None:
    """Point ``alias`` at ``root`` inside ``txn``; ``Conflict`` if another repo has it."""
    if not alias:
        return
    if len(alias.encode()) > MAX_ALIAS_BYTES:  # its index key must fit every backend
        raise InvalidRequest(
            f"repo alias of {len(alias.encode())} bytes is too long (at most {MAX_ALIAS_BYTES})"
        )
    holder = txn.get(alias_key(alias))
    if holder is not None and holder.decode() != root:
        raise Conflict(f"repo alias {alias!r} is already used by repo {holder.decode()}")
    txn.put(alias_key(alias), root.encode())


def register_merge_finisher(fn: MergeFinisher) -> None:
    """Let :meth:`Catalog.recover_merges` finish pending merges with ``fn`` (idempotent)."""
    if fn not in _finishers:
        _finishers.append(fn)


class Catalog:
    """Repos, the version DAG and data instances of one store; see the module docstring."""

    def __init__(self, store: KVStore) -> None:
        metastore.check_layout(store)
        self.store = store
        self._nodes = NodeRecords(store)
        if _finishers:
            self.recover_merges()

    # -- repos --------------------------------------------------------------------------
    def create_repo(
        self, alias: str = "", description: str = "", *, root: str | None = None
    ) -> RepoInfo:
        """Create a repo with an open root node on branch master; aliases are unique."""
        uuid = new_uuid(root)
        metastore.record_layout(self.store)
        now = now_iso()
        repo = RepoInfo(uuid, alias, description, (), {}, now, now)

        def make(vid: int, parents: Sequence[NodeInfo]) -> NodeInfo:
            return NodeInfo(uuid, vid, uuid, MASTER, "", (), (), (), now, now, False, ())

        def add_repo(txn: Txn, node: NodeInfo) -> None:
            if txn.get(repo_key(uuid)) is not None:
                raise Conflict(f"repo {uuid} exists")
            _claim_alias(txn, alias, uuid)
            txn.put(repo_key(uuid), records.encode(repo))

        self._nodes.create(make, [], extra=add_repo)
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

    def repo_by_alias(self, alias: str) -> RepoInfo | None:
        """The repo with this alias, or ``None`` (one index lookup)."""
        if not alias:
            return None
        root = self.store.get(alias_key(alias))
        return None if root is None else self.repo(root.decode())

    def _update_repo(self, ref: str, fn: Callable[[RepoInfo], RepoInfo]) -> RepoInfo:
        root = self.repo(ref).root

        def run(txn: Txn) -> RepoInfo:
            raw = txn.get(repo_key(root))
            if raw is None:
                raise NotFound(f"could not find repo {root}")
            old = records.decode_repo(raw)
            new = dataclasses.replace(fn(old), updated=now_iso())
            if new.alias != old.alias:
                _claim_alias(txn, new.alias, root)
                if old.alias:
                    txn.delete(alias_key(old.alias))
            txn.put(repo_key(root), records.encode(new))
            generations.bump(txn, root)
            return new

        return self.store.transact(run)

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
        """Every node of the repo, in creation order (one scan of the repo's index)."""
        return self._nodes.repo_nodes(self.repo(repo_ref).root)

    def generation(self, repo_ref: str) -> generations.Generation:
        """The repo's generation (one ``get``): its number changes whenever the repo's
        records do (its record, its instances' records, any of its nodes), and it names
        the node records its recent changes touched. What was derived from the records
        at one generation is still current while the number is unchanged."""
        root = self._nodes.static(self._nodes.resolve(repo_ref)).repo
        return self._nodes.generation(root)

    def node_count(self, repo_ref: str) -> int:
        """How many nodes the repo has (one ``get``)."""
        return self._nodes.node_count(self._nodes.static(self._nodes.resolve(repo_ref)).repo)

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

    def _child_maker(
        self, branch: str | None, note: str, uuid: str | None
    ) -> Callable[[int, Sequence[NodeInfo]], NodeInfo]:
        """Build a child record of the parents read in the creating transaction."""
        now = now_iso()
        child_uuid = new_uuid(uuid)

        def make(version_id: int, parents: Sequence[NodeInfo]) -> NodeInfo:
            return NodeInfo(
                uuid=child_uuid,
                version_id=version_id,
                repo=parents[0].repo,
                branch=parents[0].branch if branch is None else branch,
                note=note,
                log=(),
                parents=tuple(p.uuid for p in parents),
                children=(),
                created=now,
                updated=now,
                locked=False,
                parent_ids=tuple(p.version_id for p in parents),
            )

        return make

    def newversion(self, ref: str, *, note: str = "", uuid: str | None = None) -> NodeInfo:
        """Create an open child on the parent's branch (parent committed, no such child)."""
        parent = self._nodes.resolve(ref)

        def rule(p: NodeInfo, txn: Txn) -> None:
            check_newversion(p, self._nodes.child_branches(p, txn))

        return self._nodes.create(self._child_maker(None, note, uuid), [(parent, rule)])

    def branch(self, ref: str, name: str, *, note: str = "", uuid: str | None = None) -> NodeInfo:
        """Create an open child of a committed node on a new branch ``name``."""
        parent = self._nodes.resolve(ref)

        def rule(p: NodeInfo, txn: Txn) -> None:
            check_branch(p, name, ())

        return self._nodes.create(
            self._child_maker(name, note, uuid), [(parent, rule)], new_branch=True
        )

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
        which ``derived`` is true are exempt (see :mod:`voxhub.versioning.merge`). Use
        :meth:`begin_merge` when derived data must be recomputed at the child.
        """
        child = self.begin_merge(
            parents, note=note, resolve=resolve, describe=describe, derived=derived
        )
        return self.publish_merge(child.uuid)

    def begin_merge(
        self,
        parents: Sequence[str],
        *,
        note: str = "",
        resolve: bool = False,
        describe: Callable[[InstanceInfo, bytes], str] | None = None,
        derived: Callable[[InstanceInfo, bytes], bool] | None = None,
    ) -> NodeInfo:
        """:meth:`merge`, but the child stays pending (invisible) until published.

        The child's write sets receive everything written on the parents' sides (see
        :mod:`voxhub.versioning.writesets`) in the transaction that creates it.
        """
        from voxhub.versioning.merge import check_conflicts

        nodes = [self.node(p) for p in parents]
        check_merge(nodes)
        ancestries = [self._nodes.ancestry(n.uuid) for n in nodes]
        instances = [i for i in self.instances(nodes[0].uuid) if i.versioned]
        if not resolve:
            child_anc = self._nodes.lineage.virtual([n.version_id for n in nodes])
            check_conflicts(
                self.store,
                instances,
                child_anc,
                self._nodes.lineage,
                ancestries,
                [n.uuid for n in nodes],
                describe,
                derived,
            )
        sides = writesets.merge_sides(ancestries)
        changed = {
            i.instance_id: writesets.written(self.store, i.instance_id, sides) for i in instances
        }

        def record_sides(txn: Txn, child: NodeInfo) -> None:
            txn.put(owner_key(child.uuid), pending.owner_record())
            for instance_id, tkeys in changed.items():
                writesets.record(txn, instance_id, child.version_id, tkeys)

        return self._nodes.create(
            self._child_maker(MASTER, note, None),
            [(n.uuid, _no_rule) for n in nodes],
            extra=record_sides,
            pending=True,
        )

    def publish_merge(self, uuid: str) -> NodeInfo:
        """Make a pending merge node visible (linked into its parents and indexes)."""
        self._nodes.publish(uuid)
        return self._nodes.read(uuid)

    def abandon_merge(self, uuid: str) -> None:
        """Drop a pending merge node and everything written at it."""
        raw = self.store.get(pending_key(uuid))
        if raw is None:
            return
        node = records.decode_node(raw)
        wrote = {
            inst.instance_id: writesets.written(self.store, inst.instance_id, [node.version_id])
            for inst in self.instances(node.parents[0])
        }

        def run(txn: Txn) -> None:  # only the merging process writes at a pending node
            for instance_id, tkeys in wrote.items():
                writesets.erase(txn, instance_id, node.version_id, tkeys)
            txn.delete(chunk_key(node.version_id))
            txn.delete(pending_key(uuid))
            txn.delete(owner_key(uuid))

        self.store.transact(run)

    def pending_merges(self) -> list[NodeInfo]:
        """Merge nodes begun but neither published nor abandoned (crashed merges)."""
        start, end = meta_range("pending/")
        return [records.decode_node(v) for _, v in self.store.scan(start, end) if v]

    def recover_merges(self, *, lease_s: float = pending.LEASE_S) -> list[str]:
        """Finish orphaned pending merges with the registered finishers.

        Orphaned: the owner process died on this host, or the merge is older than
        ``lease_s`` (see :mod:`voxhub.versioning.pending`). A merge whose finisher fails
        is abandoned, so it reads as if it never happened. Returns the UUIDs handled;
        read-only stores are left as they are.
        """
        handled: list[str] = []
        for node in self.pending_merges():
            if not pending.orphaned(self.store.get(owner_key(node.uuid)), node.created, lease_s):
                continue
            try:
                for finish in _finishers:
                    finish(self, node)
                if self.store.get(pending_key(node.uuid)) is not None:
                    self.publish_merge(node.uuid)
            except ReadOnlyError:
                return handled
            except Exception:
                self.abandon_merge(node.uuid)
            handled.append(node.uuid)
        return handled

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

    def node_log(self, ref: str) -> list[str]:
        """The node's whole log, oldest first: its record's lines and the lines that
        mutations over HTTP wrote with their data (:mod:`voxhub.versioning.node_log`)."""
        node = self.node(ref)
        return node_log.merged(node.log, self.store, node.uuid)

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
        ignored_settings: Sequence[str] = (),
        tags: Mapping[str, str] | None = None,
    ) -> InstanceInfo:
        """Create a uniquely named instance; ``at`` (default: master leaf) must be open.
        ``ignored_settings``: creation settings the datatype did not use (kept to show);
        ``tags``: its first DVID tags."""
        validate_instance_name(name)
        _check_json(config, f"config of instance {name!r}")
        root = self.repo(repo_ref).root
        node = self.node(at if at is not None else f"{root}:{MASTER}")
        if node.repo != root:
            raise InvalidRequest(f"node {node.uuid} is not in repo {root}")
        check_open(node, f"create instance {name!r} at")
        key = _instance_key(root, name)
        taken = f"instance {name!r} already exists in repo {root}"
        if self.store.get(key) is not None:
            raise Conflict(taken)
        data_uuid, created = uuidlib.uuid4().hex, now_iso()

        def run(txn: Txn) -> InstanceInfo:
            raw = txn.get(node_key(node.uuid))
            if raw is None:
                raise NotFound(f"could not find node {node.uuid}")
            check_open(records.decode_node(raw), f"create instance {name!r} at")
            if txn.get(key) is not None:
                raise Conflict(taken)
            info = InstanceInfo(
                name=name,
                typename=typename,
                instance_id=_allocate_instance_id(txn),
                repo=root,
                data_uuid=data_uuid,
                versioned=versioned,
                created_at=created,
                config=dict(config),
                ignored_settings=tuple(str(s) for s in ignored_settings),
                tags={str(k): str(v) for k, v in (tags or {}).items()},
            )
            txn.put(key, records.encode(info))
            generations.bump(txn, root)
            return info

        return self.store.transact(run)

    def instance(self, repo_ref: str, name: str) -> InstanceInfo:
        """The instance ``name`` of the repo holding ``repo_ref``."""
        root = self._nodes.static(self._nodes.resolve(repo_ref)).repo
        raw = self.store.get(_instance_key(root, name))
        if raw is None:
            raise NotFound(f"no data instance {name!r} in repo {root}")
        return _DECODED_INSTANCES(raw)

    def instances(self, repo_ref: str) -> list[InstanceInfo]:
        """All instances of the repo, by name."""
        root = self._nodes.static(self._nodes.resolve(repo_ref)).repo
        start, end = meta_range(f"inst/{root}/")
        return [records.decode_instance(v) for _, v in self.store.scan(start, end) if v]

    def update_instance_config(
        self, repo_ref: str, name: str, fn: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> InstanceInfo:
        """Replace an instance's config by ``fn(old_config)`` (one transaction; ``fn`` may
        run again)."""

        def change(info: InstanceInfo) -> InstanceInfo:
            config = fn(dict(info.config))
            _check_json(config, f"config of instance {name!r}")
            return dataclasses.replace(info, config=config)

        return self._update_instance(repo_ref, name, change)

    def update_instance_tags(
        self, repo_ref: str, name: str, tags: dict[str, str], *, replace: bool = False
    ) -> InstanceInfo:
        """Add ``tags`` to an instance's DVID tags (``replace``: make them its tags).
        Tags are instance-wide metadata, as in DVID: any node of the repo may set them."""
        tags = {str(k): str(v) for k, v in tags.items()}

        def change(info: InstanceInfo) -> InstanceInfo:
            return dataclasses.replace(info, tags=tags if replace else {**info.tags, **tags})

        return self._update_instance(repo_ref, name, change)

    def _update_instance(
        self, repo_ref: str, name: str, change: Callable[[InstanceInfo], InstanceInfo]
    ) -> InstanceInfo:
        """Replace an instance record by ``change(old)`` (one transaction; may run again)."""
        root = self.instance(repo_ref, name).repo
        key = _instance_key(root, name)

        def run(txn: Txn) -> InstanceInfo:
            raw = txn.get(key)
            if raw is None:
                raise NotFound(f"no data instance {name!r} in repo {root}")
            new = change(records.decode_instance(raw))
            txn.put(key, records.encode(new))
            generations.bump(txn, root)
            return new

        return self.store.transact(run)

    # -- data ---------------------------------------------------------------------------
    def view(self, ref: str, instance: str) -> VersionedKV:
        """The versioned key-value view of ``instance`` at the node ``ref``."""
        uuid = self._nodes.resolve(ref)
        return self._view(self._nodes.static(uuid), instance, node_key(uuid))

    def pending_view(self, node: NodeInfo, instance: str) -> VersionedKV:
        """A view at a pending merge node (see :meth:`begin_merge`), to recompute at."""
        return self._view(node, instance, pending_key(node.uuid))

    def _view(self, node: NodeInfo, instance: str, key: bytes) -> VersionedKV:
        info = self.instance(node.repo, instance)
        version_id = node.version_id
        if not info.versioned:
            version_id = self._nodes.static(node.repo).version_id
        return VersionedKV(
            self.store,
            instance_id=info.instance_id,
            instance_name=info.name,
            version_id=version_id,
            node_uuid=node.uuid,
            node_key=key,
            versioned=info.versioned,
            ancestry=self._nodes.lineage.ancestry(version_id),
            lineage=self._nodes.lineage,
        )

    def diff(self, a: str, b: str, instance: str) -> list[bytes]:
        """Sorted tkeys of ``instance`` whose visible values differ between ``a`` and ``b``."""
        from voxhub.versioning.diff import diff_views

        va, vb = self.view(a, instance), self.view(b, instance)
        if self._nodes.static(va.node_uuid).repo != self._nodes.static(vb.node_uuid).repo:
            raise InvalidRequest(f"nodes {a!r} and {b!r} belong to different repos")
        return diff_views(va, vb)


_INSTANCE_COUNTER = meta_key("counter/instance")


def _allocate_instance_id(txn: Txn) -> int:
    """The next instance id (1, 2, ...), taken inside ``txn``."""
    return next_id(txn, _INSTANCE_COUNTER, "instance")


def _check_json(value: Any, what: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as e:
        raise InvalidRequest(f"{what} is not JSON-serialisable: {e}") from e
