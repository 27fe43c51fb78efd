"""The decisions: may this caller read, write or administer that node or repo, and which
versions of a repo may it see.

A caller may act on a repo with its role there (a server admin everywhere); anyone may
read a **public** node: a published committed node or any of its ancestors. The ancestors
of a committed node never change, so the public set of a repo is computed once per set of
published nodes and cached. With authentication off every caller is the
:data:`~voxhub.service.auth.principal.OPEN` principal and every check passes.
"""

from __future__ import annotations

import threading
import time

from voxhub.cache_stats import cache_stats
from voxhub.errors import Forbidden, Unauthorized
from voxhub.service.auth.model import AuthState, Role, decode
from voxhub.service.auth.principal import Principal
from voxhub.service.auth.store import AUTH_KEY
from voxhub.storage.base import KVStore
from voxhub.versioning.catalog import Catalog, NodeInfo, RepoInfo

#: public sets remembered per process (distinct sets of published nodes)
_CLOSURE_CACHE_SIZE = 256
_VERBS = {Role.READ: "reading", Role.WRITE: "changing", Role.ADMIN: "administering"}


#: lookups of the parsed auth record, for /metrics (voxhub.cache_stats)
_STATS = cache_stats("auth_state")


class StateCache:
    """The store's auth record, re-read at most every ``refresh_seconds`` (0: on every
    request, one ``get`` of a few kilobytes, what low-latency stores such as LMDB do) and
    parsed again only when its bytes changed."""

    def __init__(self, store: KVStore, refresh_seconds: float) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._raw: bytes | None = None
        self._state = AuthState()
        self._checked = -float("inf")
        self._lock = threading.Lock()

    def current(self) -> AuthState:
        now = time.monotonic()
        if now - self._checked < self.refresh_seconds:
            _STATS.count(hit=True)
            return self._state
        raw = self.store.get(AUTH_KEY)
        with self._lock:
            _STATS.count(hit=raw == self._raw)  # a miss parses the record again
            if raw != self._raw:
                self._state = decode(raw)
                self._raw = raw
            self._checked = now
            return self._state


def refuse(principal: Principal, what: str) -> Exception:
    """401 for a caller without a token, 403 for a user without the role."""
    if not principal.authenticated:
        return Unauthorized(
            f"{what} needs a user: send the header 'Authorization: Bearer <token>' "
            "(an administrator makes one with `voxhub auth token create NAME`)"
        )
    return Forbidden(f"{what} is not allowed to {principal.describe()}")


class Policy:
    """Access decisions over one catalog and its auth record."""

    def __init__(self, catalog: Catalog, states: StateCache) -> None:
        self.catalog = catalog
        self.states = states
        self._closures: dict[tuple[str, frozenset[str]], frozenset[str]] = {}

    # -- public versions -------------------------------------------------------------------
    def public_nodes(self, repo_root: str) -> frozenset[str]:
        """The published nodes of a repo and all their ancestors (blocking: catalog reads
        the first time a set of published nodes is seen)."""
        published = frozenset(self.states.current().public.get(repo_root, ()))
        if not published:
            return frozenset()
        key = (repo_root, published)
        found = self._closures.get(key)
        if found is None:
            found = self._ancestry(published)
            if len(self._closures) >= _CLOSURE_CACHE_SIZE:
                self._closures.clear()
            self._closures[key] = found
        return found

    def _ancestry(self, nodes: frozenset[str]) -> frozenset[str]:
        seen: set[str] = set()
        todo = list(nodes)
        while todo:
            uuid = todo.pop()
            if uuid in seen:
                continue
            seen.add(uuid)
            todo.extend(self.catalog.node(uuid).parents)
        return frozenset(seen)

    # -- decisions -------------------------------------------------------------------------
    def visible_nodes(self, principal: Principal, repo: RepoInfo) -> frozenset[str] | None:
        """The nodes of ``repo`` the caller may read: ``None`` for all of them (a role
        there), else its public nodes (maybe none)."""
        if principal.open or principal.role_in(repo) is not None:
            return None
        return self.public_nodes(repo.root)

    def check_node(self, principal: Principal, need: Role, node: NodeInfo) -> None:
        """Raise unless the caller may act on ``node`` with ``need``."""
        if principal.open:
            return
        repo = self.catalog.repo(node.uuid)
        role = principal.role_in(repo)
        if role is not None and role >= need:
            return
        if need is Role.READ and node.uuid in self.public_nodes(repo.root):
            return
        raise refuse(principal, f"{_VERBS[need]} node {node.uuid} of repo {_name(repo)}")

    def check_repo(
        self, principal: Principal, need: Role, repo: RepoInfo, *, public_view: bool
    ) -> None:
        """Raise unless the caller may act on ``repo`` with ``need``; with ``public_view``
        a caller without a role may read a repo that has public nodes (the route shows it
        only those)."""
        if principal.open:
            return
        role = principal.role_in(repo)
        if role is not None and role >= need:
            return
        if need is Role.READ and public_view and self.public_nodes(repo.root):
            return
        raise refuse(principal, f"{_VERBS[need]} repo {_name(repo)}")

    def check_server_admin(self, principal: Principal, what: str) -> None:
        if not (principal.open or principal.admin):
            raise refuse(principal, f"{what} (a server administrator's task)")


def _name(repo: RepoInfo) -> str:
    return f"{repo.alias!r} ({repo.root})" if repo.alias else repo.root
