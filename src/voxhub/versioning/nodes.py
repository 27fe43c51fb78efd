"""Node records and the per-repo indexes that make lookups cost O(1), not O(history).

Used by :class:`voxhub.versioning.catalog.Catalog` (composition). Metadata paths (see
:mod:`voxhub.versioning.keys`)::

    node/<uuid>                NodeInfo JSON; a prefix scan resolves UUID prefixes
    repo/<root>                RepoInfo JSON
    alias/<hex of alias>       the root of the repo with that alias (aliases are unique)
    branch/<root>/<name>       {"base": first node, "leaf": current leaf} of a branch
    rnode/<root>/<vid 8 hex>   the UUID of each node of a repo, in creation order
    count/<root>               how many nodes the repo has
    gen/<root>                 the repo's generation: bumped by every change of the repo
    anc/<vid 8 hex>            the node's ancestry chunk (:func:`voxhub.versioning.dag.chunk_for`)
    pending/<uuid>             a merge node whose derived data is still being recomputed
    pendingowner/<uuid>        host and process recomputing it
    counter/version            next free version id

Creating a node is **one transaction**: the id, the record, the link into each parent's
``children``, the ancestry chunk, the repo's node list and count and the branch leaf all
change together, so a crash leaves either nothing or a complete node, and LMDB pays one
fsync. Looking up ``uuid:branch`` reads the branch record (one ``get``), a repo's nodes
are one prefix scan of its own index, and an ancestry loads about depth/64 chunks
(:class:`StoredLineage`), so opening a repo never replays its history.

Every transaction that changes what a repo looks like (its record, an instance record, a
node created, published, committed, noted or logged) also bumps the repo's generation
(:mod:`voxhub.versioning.generations`), so a reader can tell with one ``get`` whether
anything it derived from the repo's records (``/api/repos/info``'s JSON) is still current,
and which node records changed if not.

A node's version id, repo, branch and parents never change, so they are cached here;
everything mutable — locked flag, children, notes, logs, branch leaves — is re-read from
the store on every call, so a commit made by another ``Catalog`` or process is seen by
the next operation here.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence

from voxhub.cache_stats import cache_stats
from voxhub.errors import Conflict, InvalidRequest, NotFound, StorageError
from voxhub.storage.base import KVStore, Txn
from voxhub.versioning import generations, records
from voxhub.versioning.dag import (
    Ancestry,
    Chunk,
    Lineage,
    NodeInfo,
    chunk_for,
    decode_chunk,
    encode_chunk,
    parse_ref,
    select_unique,
    walk_first_parents,
)
from voxhub.versioning.decoded import DecodedRecords
from voxhub.versioning.keys import MAX_ID, meta_key, meta_range

#: chunks kept in memory per store (each a few hundred bytes).
CHUNK_CACHE = 8192
_CHUNK_STATS = cache_stats("ancestry_chunk")
_NODE_STATS = cache_stats("node_record")
#: node records decoded once per distinct stored bytes (a request reads its node's)
_DECODED = DecodedRecords("node_decoded", records.decode_node)


def node_key(uuid: str) -> bytes:
    """Metadata key of a node record."""
    return meta_key(f"node/{uuid}")


def pending_key(uuid: str) -> bytes:
    """Metadata key of a merge node whose derived data is not complete yet."""
    return meta_key(f"pending/{uuid}")


def owner_key(uuid: str) -> bytes:
    """Metadata key of the owner of a pending merge (:mod:`voxhub.versioning.pending`)."""
    return meta_key(f"pendingowner/{uuid}")


def branch_key(root: str, name: str) -> bytes:
    """Metadata key of a branch record (its first node and its leaf)."""
    return meta_key(f"branch/{root}/{name}")


def repo_key(root: str) -> bytes:
    """Metadata key of a repo record."""
    return meta_key(f"repo/{root}")


def alias_key(alias: str) -> bytes:
    """Metadata key of the alias index (hex: aliases may be any text)."""
    return meta_key(f"alias/{alias.encode().hex()}")


def chunk_key(version_id: int) -> bytes:
    """Metadata key of a node's ancestry chunk."""
    return meta_key(f"anc/{version_id:08x}")


def _member_key(root: str, version_id: int) -> bytes:
    return meta_key(f"rnode/{root}/{version_id:08x}")


def _count_key(root: str) -> bytes:
    return meta_key(f"count/{root}")


_VERSION_COUNTER = meta_key("counter/version")


class StoredLineage(Lineage):
    """A :class:`~voxhub.versioning.dag.Lineage` whose chunks live in the store."""

    def __init__(self, store: KVStore) -> None:
        super().__init__()
        self._store = store
        self._chunks: dict[int, Chunk] = {}

    def chunk(self, version_id: int) -> Chunk:
        found = self._chunks.get(version_id)
        _CHUNK_STATS.count(hit=found is not None)
        if found is None:
            raw = self._store.get(chunk_key(version_id))
            if raw is None:
                raise StorageError(f"version {version_id} has no ancestry record")
            found = decode_chunk(raw)
            if len(self._chunks) >= CHUNK_CACHE:
                self._chunks.clear()
            self._chunks[version_id] = found
        return found


def _get_node(txn: Txn, uuid: str) -> NodeInfo:
    raw = txn.get(node_key(uuid))
    if raw is None:
        raise NotFound(f"could not find node {uuid}")
    return records.decode_node(raw)


def next_id(txn: Txn, counter: bytes, what: str) -> int:
    """The next ``what`` id (1, 2, ...) of the catalog counter ``counter``, taken inside
    ``txn``; :class:`Conflict` once the 4-byte id space is used up."""
    old = txn.get(counter)
    value = int(old) if old is not None else 1
    if value >= MAX_ID:
        raise Conflict(f"the {what} id space (4 bytes) is exhausted")
    txn.put(counter, str(value + 1).encode())
    return value


def allocate_version(txn: Txn) -> int:
    """The next version id, taken inside ``txn``."""
    return next_id(txn, _VERSION_COUNTER, "version")


#: checks a parent (read inside the transaction) before a child is linked to it.
Rule = Callable[[NodeInfo, Txn], None]


class NodeRecords:
    """Reads, caches, creates and updates node records of one store."""

    def __init__(self, store: KVStore) -> None:
        self.store = store
        self.lineage = StoredLineage(store)
        self._static: dict[str, NodeInfo] = {}  # only immutable fields are trusted
        self._lock = threading.Lock()

    # -- node records ------------------------------------------------------------------
    def read(self, uuid: str) -> NodeInfo:
        raw = self.store.get(node_key(uuid))
        if raw is None:
            raise NotFound(f"could not find node {uuid}")
        node = _DECODED(raw)
        if uuid not in self._static:
            with self._lock:
                self._static[uuid] = node
        return node

    def static(self, uuid: str) -> NodeInfo:
        """A node whose immutable fields (id, repo, branch, parents) are all we need."""
        node = self._static.get(uuid)
        _NODE_STATS.count(hit=node is not None)
        return node if node is not None else self.read(uuid)

    def ancestry(self, uuid: str) -> Ancestry:
        return self.lineage.ancestry(self.static(uuid).version_id)

    def update(self, uuid: str, fn: Callable[[NodeInfo], NodeInfo]) -> NodeInfo:
        def run(txn: Txn) -> NodeInfo:
            new = fn(_get_node(txn, uuid))
            txn.put(node_key(uuid), records.encode(new))
            generations.bump(txn, new.repo, [uuid])
            return new

        return self.store.transact(run)

    # -- creation ----------------------------------------------------------------------
    def create(
        self,
        make: Callable[[int, Sequence[NodeInfo]], NodeInfo],
        parents: Sequence[tuple[str, Rule]],
        *,
        new_branch: bool = False,
        extra: Callable[[Txn, NodeInfo], None] | None = None,
        pending: bool = False,
    ) -> NodeInfo:
        """Create a node in one transaction (see the module docstring).

        ``make(version_id, parent_records)`` builds the record; each parent's rule checks
        it as read inside the transaction. ``new_branch`` reserves the child's branch
        name (``Conflict`` if taken). ``extra`` adds writes to the same transaction. A
        ``pending`` node (a merge still recomputing derived data) is written under
        ``pending/`` only: invisible until :meth:`publish`.
        """

        def run(txn: Txn) -> NodeInfo:
            read = [_get_node(txn, uuid) for uuid, _ in parents]
            for node, (_, rule) in zip(read, parents, strict=True):
                rule(node, txn)
            child = make(allocate_version(txn), read)
            if txn.get(node_key(child.uuid)) is not None or (
                txn.get(pending_key(child.uuid)) is not None
            ):
                raise Conflict(f"node {child.uuid} exists")
            first = txn.get(chunk_key(child.parent_ids[0])) if child.parent_ids else None
            chunk = chunk_for(
                child.version_id, child.parent_ids, decode_chunk(first) if first else None
            )
            txn.put(chunk_key(child.version_id), encode_chunk(chunk))
            if new_branch:
                key = branch_key(child.repo, child.branch)
                if txn.get(key) is not None:  # the rule of dag.check_branch, checked here
                    raise InvalidRequest(
                        f"branch {child.branch!r} already exists in repo {child.repo}"
                    )
                txn.put(key, records.encode({"base": child.uuid, "leaf": child.uuid}))
            if extra is not None:
                extra(txn, child)
            if pending:
                txn.put(pending_key(child.uuid), records.encode(child))
            else:
                self._link(txn, child, read)
            return child

        return self.store.transact(run)

    def publish(self, uuid: str, extra: Callable[[Txn, NodeInfo], None] | None = None) -> None:
        """Make a pending node visible: link it like :meth:`create` would have."""

        def run(txn: Txn) -> None:
            raw = txn.get(pending_key(uuid))
            if raw is None:
                raise NotFound(f"no pending merge node {uuid}")
            child = records.decode_node(raw)
            if extra is not None:
                extra(txn, child)
            txn.delete(pending_key(uuid))
            txn.delete(owner_key(uuid))
            self._link(txn, child, [_get_node(txn, p) for p in child.parents])

        self.store.transact(run)

    def _link(self, txn: Txn, child: NodeInfo, parents: Sequence[NodeInfo]) -> None:
        """Write ``child``'s record and every index that lists it."""
        txn.put(node_key(child.uuid), records.encode(child))
        generations.bump(txn, child.repo, [child.uuid, *child.parents])
        for parent in parents:
            linked = dataclasses.replace(parent, children=(*parent.children, child.uuid))
            txn.put(node_key(parent.uuid), records.encode(linked))
        txn.put(_member_key(child.repo, child.version_id), child.uuid.encode())
        raw = txn.get(_count_key(child.repo))
        txn.put(_count_key(child.repo), str((int(raw) if raw else 0) + 1).encode())
        key = branch_key(child.repo, child.branch)
        raw = txn.get(key)
        if raw is None:
            if child.parents:
                raise StorageError(f"branch {child.branch!r} of repo {child.repo} has no record")
            txn.put(key, records.encode({"base": child.uuid, "leaf": child.uuid}))
            return
        branch = records.decode_dict(raw, "branch")
        if branch.get("leaf") in child.parents:  # the leaf's first child on its branch
            txn.put(key, records.encode({**branch, "leaf": child.uuid}))

    def child_branches(self, node: NodeInfo, txn: Txn | None = None) -> list[str]:
        """Branches of ``node``'s children (read through ``txn`` when given)."""
        out = []
        for c in node.children:
            known = self._static.get(c)
            out.append(
                known.branch if known else (_get_node(txn, c) if txn else self.read(c)).branch
            )
        return out

    # -- listings ----------------------------------------------------------------------
    def repo_nodes(self, root: str) -> list[NodeInfo]:
        """Every node of a repo in creation order (one index scan, one batched read)."""
        start, end = meta_range(f"rnode/{root}/")
        uuids = [v.decode() for _, v in self.store.scan(start, end) if v]
        found = self.store.get_many([node_key(u) for u in uuids])
        return [records.decode_node(raw) for raw in found if raw is not None]

    def generation(self, root: str) -> generations.Generation:
        """The repo's generation record (one ``get``; :mod:`voxhub.versioning.generations`)."""
        return generations.read(self.store, root)

    def node_count(self, root: str) -> int:
        """How many nodes the repo has (one ``get``)."""
        raw = self.store.get(_count_key(root))
        return int(raw) if raw else 0

    def repo_roots(self) -> list[str]:
        """Root UUIDs of all repos."""
        start, end = meta_range("repo/")
        skip = len(start)
        return [k[skip:].decode() for k, _ in self.store.scan(start, end, keys_only=True)]

    # -- refs ---------------------------------------------------------------------------
    def resolve(self, ref: str) -> str:
        """The UUID named by ``ref`` (see :func:`voxhub.versioning.dag.parse_ref`)."""
        parsed = parse_ref(ref)
        uuid: str | None = None
        if parsed.prefix:
            uuid = self._match_prefix(parsed.prefix)
        if parsed.branch is None:
            assert uuid is not None
            return walk_first_parents(uuid, parsed.steps, lambda u: self.static(u).parents)
        if uuid is not None:
            root = self.static(uuid).repo
        else:
            roots = self.repo_roots()
            if not roots:
                raise NotFound(f"no repo exists to resolve {ref!r} in")
            if len(roots) > 1:
                raise InvalidRequest(
                    f"{ref!r}: a UUID must be given when more than one repo exists"
                )
            root = roots[0]
        path = self.branch_path(root, parsed.branch, parsed.steps + 1)
        if not path:
            raise NotFound(f"branch {parsed.branch!r} not found in repo {root}")
        if parsed.steps >= len(path):
            raise NotFound(f"branch {parsed.branch!r} has only {len(path)} versions ({ref!r})")
        return path[parsed.steps]

    def _match_prefix(self, prefix: str) -> str:
        if prefix in self._static or self.store.get(node_key(prefix)) is not None:
            return prefix
        start, end = meta_range(f"node/{prefix}")
        skip = len(node_key(""))
        matches = [k[skip:].decode() for k, _ in self.store.scan(start, end, keys_only=True)]
        return select_unique(prefix, matches)

    def branch_path(self, root: str, branch: str, limit: int | None = None) -> list[str]:
        """UUIDs from the branch leaf back to the repo root (at most ``limit``).

        The branch part follows, from the leaf down, the parent whose first child on the
        branch is the node (branches are chains; a merge child continues master only if
        its parent was the leaf); below the branch's first node, first parents. ``[]``
        for an unknown branch.
        """
        raw = self.store.get(branch_key(root, branch))
        if raw is None:
            return []
        record = records.decode_dict(raw, "branch")
        base, node = str(record["base"]), str(record.get("leaf", record["base"]))
        path = [node]
        while limit is None or len(path) < limit:
            current = self.static(node)
            if not current.parents:
                break
            on_branch = node != base
            node = self._branch_predecessor(current, branch) if on_branch else current.parents[0]
            path.append(node)
        return path

    def _branch_predecessor(self, node: NodeInfo, branch: str) -> str:
        for parent in node.parents:
            p = self.read(parent)  # children are mutable: read, not cached
            if self.static(parent).branch == branch:
                first = next((c for c in p.children if self.static(c).branch == branch), None)
                if first == node.uuid:
                    return parent
        return node.parents[0]

    def first_parent_chain(self, uuid: str) -> list[str]:
        """UUIDs from the repo root to ``uuid`` along first parents."""
        chain = [uuid]
        while parents := self.static(chain[-1]).parents:
            chain.append(parents[0])
        return chain[::-1]
