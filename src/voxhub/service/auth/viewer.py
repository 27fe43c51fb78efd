"""What one caller may see: every listing and description goes through a :class:`Viewer`,
so a caller who may read only a repo's public versions never learns of its other nodes
(their UUIDs, notes, logs, links to children). Instances are repo-wide, as in DVID: their
names and configurations are listed to anyone who may see the repo."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from voxhub.service.auth.model import Role
from voxhub.service.auth.policy import Policy
from voxhub.service.auth.principal import OPEN, Principal
from voxhub.versioning.catalog import NodeInfo, RepoInfo


@dataclass(frozen=True)
class Viewer:
    """A caller and the policy judging it (no policy: authentication is off)."""

    principal: Principal = OPEN
    policy: Policy | None = None

    @property
    def sees_all(self) -> bool:
        return self.policy is None or self.principal.open

    def visible(self, repo: RepoInfo) -> frozenset[str] | None:
        """The node UUIDs of ``repo`` this caller may see; ``None`` for all of them."""
        if self.policy is None:
            return None
        return self.policy.visible_nodes(self.principal, repo)

    def check_node(self, need: Role, node: NodeInfo) -> None:
        """Raise ``Unauthorized``/``Forbidden`` unless the caller may do ``need`` at ``node``."""
        if self.policy is not None:
            self.policy.check_node(self.principal, need, node)

    def repos(self, repos: Iterable[RepoInfo]) -> list[RepoInfo]:
        """The repos of which the caller may see at least one node, as it may see them."""
        if self.sees_all:
            return list(repos)
        shown = []
        for repo in repos:
            visible = self.visible(repo)
            if visible is None or visible:
                shown.append(repo if visible is None else replace(repo, log=()))
        return shown

    def repo(self, repo: RepoInfo) -> RepoInfo:
        """``repo`` as the caller may see it: without its log (which names every node)
        when it sees only public nodes."""
        return repo if self.visible(repo) is None else replace(repo, log=())

    def nodes(self, repo: RepoInfo, nodes: Iterable[NodeInfo]) -> list[NodeInfo]:
        """The nodes among ``nodes`` the caller may see, without links to the others."""
        return prune(nodes, self.visible(repo))

    def node(self, node: NodeInfo) -> NodeInfo:
        """``node`` without links to children the caller may not see."""
        if self.sees_all or self.policy is None:
            return node
        visible = self.visible(self.policy.catalog.repo(node.uuid))
        if visible is None:
            return node
        return prune([node], visible | {node.uuid})[0]


def prune(nodes: Iterable[NodeInfo], visible: frozenset[str] | None) -> list[NodeInfo]:
    """The nodes in ``visible`` (all for ``None``), their children limited to ``visible``.

    Parents need no pruning: the ancestors of a visible node are visible.
    """
    if visible is None:
        return list(nodes)
    shown = []
    for node in nodes:
        if node.uuid in visible:
            children = tuple(c for c in node.children if c in visible)
            shown.append(node if children == node.children else replace(node, children=children))
    return shown
