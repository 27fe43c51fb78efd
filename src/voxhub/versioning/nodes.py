"""Node records in the store: reads with an immutable-facts cache, CAS updates, refs.

Used by :class:`voxhub.versioning.catalog.Catalog` (composition). A node's version id,
repo, branch and parents never change, so they are cached here (with the ancestor sets, in
:class:`~voxhub.versioning.dag.Lineage`); everything mutable — locked flag, children,
notes, logs, branch leaves — is re-read from the store on every call, so a commit made by
another ``Catalog`` or process is seen by the next operation here.

Creating a node writes its record first and links it into its parents' ``children``
second; a failure in between deletes the record again. A crash in between leaves an
unreachable record, which listings ignore (they only follow ``children`` links).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence

from voxhub.errors import InvalidRequest, NotFound
from voxhub.storage.base import KVStore
from voxhub.versioning import metastore, records
from voxhub.versioning.dag import (
    Ancestry,
    Lineage,
    NodeInfo,
    parse_ref,
    select_unique,
    walk_first_parents,
)
from voxhub.versioning.keys import meta_key, meta_range


def node_key(uuid: str) -> bytes:
    """Metadata key of a node record."""
    return meta_key(f"node/{uuid}")


def branch_key(root: str, name: str) -> bytes:
    """Metadata key of a branch-name reservation (holds the branch's first node)."""
    return meta_key(f"branch/{root}/{name}")


def repo_key(root: str) -> bytes:
    """Metadata key of a repo record."""
    return meta_key(f"repo/{root}")


class NodeRecords:
    """Reads, caches and updates node records of one store."""

    def __init__(self, store: KVStore) -> None:
        self.store = store
        self.lineage = Lineage()
        self._static: dict[str, NodeInfo] = {}  # only immutable fields are trusted
        self._lock = threading.Lock()

    # -- node records ------------------------------------------------------------------
    def read(self, uuid: str) -> NodeInfo:
        raw = self.store.get(node_key(uuid))
        if raw is None:
            raise NotFound(f"could not find node {uuid}")
        node = records.decode_node(raw)
        if uuid not in self._static:
            with self._lock:
                self._static[uuid] = node
                self.lineage.add(node.version_id, node.parent_ids)
        return node

    def static(self, uuid: str) -> NodeInfo:
        """A node whose immutable fields (id, repo, branch, parents) are all we need."""
        node = self._static.get(uuid)
        return node if node is not None else self.read(uuid)

    def ancestry(self, uuid: str) -> Ancestry:
        node = self.static(uuid)
        if not self.lineage.has_ancestry(node.version_id):
            seen: set[str] = set()
            pending = list(node.parents)
            while pending:  # make every ancestor's parents known to the lineage
                parent = pending.pop()
                if parent not in seen:
                    seen.add(parent)
                    pending.extend(self.static(parent).parents)
        return self.lineage.ancestry(node.version_id)

    def update(self, uuid: str, fn: Callable[[NodeInfo], NodeInfo]) -> NodeInfo:
        return metastore.update(
            self.store,
            node_key(uuid),
            lambda raw: fn(records.decode_node(raw)),
            records.encode,
            f"could not find node {uuid}",
        )

    def _link_child(self, parent: str, child: str, rule: Callable[[NodeInfo], None]) -> None:
        def add(node: NodeInfo) -> NodeInfo:
            rule(node)
            return dataclasses.replace(node, children=(*node.children, child))

        self.update(parent, add)

    def create(self, node: NodeInfo, links: Sequence[tuple[str, Callable[..., None]]]) -> None:
        """Write ``node`` and link it into its parents (each link checks its rule)."""
        raw = records.encode(node)
        metastore.insert(self.store, node_key(node.uuid), raw, f"node {node.uuid} exists")
        linked: list[str] = []
        try:
            for parent, rule in links:
                self._link_child(parent, node.uuid, rule)
                linked.append(parent)
        except BaseException:
            for parent in linked:  # only merges have several links; undo the done ones
                self.update(
                    parent,
                    lambda n: dataclasses.replace(
                        n, children=tuple(c for c in n.children if c != node.uuid)
                    ),
                )
            metastore.remove(self.store, node_key(node.uuid), raw)
            raise

    def child_branches(self, node: NodeInfo) -> list[str]:
        return [self.static(c).branch for c in node.children]

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
        path = self.branch_path(root, parsed.branch)
        if not path:
            raise NotFound(f"branch {parsed.branch!r} not found in repo {root}")
        if parsed.steps >= len(path):
            raise NotFound(f"branch {parsed.branch!r} has only {len(path)} versions ({ref!r})")
        return path[parsed.steps]

    def _match_prefix(self, prefix: str) -> str:
        if self.store.get(node_key(prefix)) is not None:
            return prefix
        start, end = meta_range(f"node/{prefix}")
        skip = len(node_key(""))
        matches = [k[skip:].decode() for k, _ in self.store.scan(start, end, keys_only=True)]
        return select_unique(prefix, matches)

    def branch_path(self, root: str, branch: str) -> list[str]:
        """UUIDs from the branch leaf back to the repo root; [] for an unknown branch."""
        raw = self.store.get(branch_key(root, branch))
        if raw is None:
            return []
        base = str(records.decode_dict(raw, "branch")["base"])
        if self.store.get(node_key(base)) is None:
            return []  # reserved by a branch() still in progress (or that crashed)
        chain = [base]
        while True:  # a branch is a chain; after a merge, follow the earliest child
            node = self.read(chain[-1])
            nxt = [c for c in node.children if self.static(c).branch == branch]
            if not nxt:
                break
            chain.append(nxt[0])
        below = self.static(base).parents
        tail = self.first_parent_chain(below[0]) if below else []
        return chain[::-1] + tail[::-1]

    def repo_roots(self) -> list[str]:
        """Root UUIDs of all repos."""
        start, end = meta_range("repo/")
        skip = len(start)
        return [k[skip:].decode() for k, _ in self.store.scan(start, end, keys_only=True)]

    def first_parent_chain(self, uuid: str) -> list[str]:
        """UUIDs from the repo root to ``uuid`` along first parents."""
        chain = [uuid]
        while parents := self.static(chain[-1]).parents:
            chain.append(parents[0])
        return chain[::-1]
