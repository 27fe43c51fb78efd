"""``Repo``: a version DAG of nodes sharing data instances."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voxhub.client.node import Node
from voxhub.errors import InvalidRequest
from voxhub.versioning.catalog import RepoInfo

if TYPE_CHECKING:
    from voxhub.client.hub import Hub


class Repo:
    """A repo, identified by its root node's UUID.

    >>> import voxhub
    >>> repo = voxhub.open("memory://").create_repo("fib19", "FIB-SEM column 19")
    >>> repo.alias, len(repo.root)
    ('fib19', 32)
    >>> v1 = repo.master.commit("first release").newversion("proofreading")
    >>> [n.uuid for n in repo.lineage()] == [repo.root, v1.uuid]
    True
    """

    def __init__(self, hub: Hub, root: str) -> None:
        self._hub = hub
        self.root = root

    def __repr__(self) -> str:
        info = self.info
        return f"Repo({self.root[:8]}…, alias={info.alias!r}, nodes={len(self.nodes())})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Repo) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    @property
    def info(self) -> RepoInfo:
        """A fresh snapshot of the repo's metadata."""
        return self._hub.catalog.repo(self.root)

    @property
    def alias(self) -> str:
        return self.info.alias

    @property
    def description(self) -> str:
        return self.info.description

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self.info.properties)

    def update(
        self,
        *,
        alias: str | None = None,
        description: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> None:
        """Change the alias, description or properties (keys left out are unchanged)."""
        self._hub.check_writable("repo update")
        self._hub.catalog.update_repo(
            self.root, alias=alias, description=description, properties=properties
        )

    @property
    def log_lines(self) -> list[str]:
        """The repo's text log (DVID's repo ``/log``), oldest first."""
        return list(self.info.log)

    def append_log(self, *lines: str) -> None:
        """Add lines to the repo's text log."""
        self._hub.check_writable("append_log")
        self._hub.catalog.append_repo_log(self.root, lines)

    # -- nodes -----------------------------------------------------------------------
    def node(self, ref: str = ":master") -> Node:
        """A node by UUID, unique prefix, ``uuid:branch``, ``:branch`` or ``:branch~N``.

        A bare branch name (``"master"``, ``"proofread"``) means that branch's leaf.
        """
        if not ref.startswith(":") and ":" not in ref and ref in self.branches():
            ref = f"{self.root}:{ref}"
        elif ref.startswith(":"):
            ref = self.root + ref
        info = self._hub.catalog.node(ref)
        if info.repo != self.root:
            raise InvalidRequest(f"node {info.uuid} belongs to repo {info.repo}, not {self.root}")
        return Node(self._hub, info.uuid)

    @property
    def master(self) -> Node:
        """The leaf of the master branch (may be open or committed)."""
        return self.node(":master")

    def nodes(self) -> list[Node]:
        """Every node of the DAG, in creation order."""
        return [Node(self._hub, n.uuid) for n in self._hub.catalog.nodes(self.root)]

    def branches(self) -> list[str]:
        """Names of every branch in the DAG."""
        seen: dict[str, None] = {}
        for n in self._hub.catalog.nodes(self.root):
            seen.setdefault(n.branch, None)
        return list(seen)

    def branch_versions(self, branch: str) -> list[Node]:
        """Nodes of ``branch`` from its leaf back to the root ([] for an unknown branch)."""
        return [Node(self._hub, u) for u in self._hub.catalog.branch_versions(self.root, branch)]

    def lineage(self, ref: str = ":master") -> list[Node]:
        """Nodes from the root to ``ref`` (default: master's leaf) along first parents."""
        return self.node(ref).lineage()

    def merge(self, *parents: Node | str, note: str = "", resolve: bool = False) -> Node:
        """Merge committed nodes (priority order) into a new open node on master.

        Conflicts (the same key changed differently on several sides) are detected now
        and refused with :class:`~voxhub.errors.MergeConflict`, whose ``report`` names
        each instance and its conflicting blocks/keys. ``resolve=True`` lets the earlier
        parent win instead.
        """
        self._hub.check_writable("merge")
        uuids = [p.uuid if isinstance(p, Node) else self.node(p).uuid for p in parents]
        info = self._hub.merge_nodes(uuids, note, resolve)
        return Node(self._hub, info.uuid)
