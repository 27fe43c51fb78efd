"""The auth record in the served store, and every change to it (``voxhub auth ...``).

Each change reads the record, applies a pure function and writes it back with a
compare-and-swap, so two administrators (or a CLI and a running server) never lose each
other's change; a server sees a change on its next request (see
:class:`~voxhub.service.auth.policy.StateCache`). Repos and nodes are named as everywhere
else (alias, UUID or prefix, ``ref:branch``) and stored by UUID, so renaming a repo keeps
its grants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from voxhub.errors import Conflict, InvalidRequest, NotFound
from voxhub.service.auth.model import (
    AuthState,
    Role,
    TokenRecord,
    UserRecord,
    check_user_name,
    decode,
    encode,
    new_token,
    token_hash,
)
from voxhub.storage.base import KVStore
from voxhub.versioning.catalog import Catalog, RepoInfo
from voxhub.versioning.keys import meta_key

#: the one metadata key holding the auth record (only ever compare-and-swapped: never
#: written in a transaction, see voxhub.storage.s3_txn)
AUTH_KEY = meta_key("auth")
#: a CAS loop that keeps losing this often is livelocked or the store is broken
MAX_ATTEMPTS = 10_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_state(store: KVStore) -> AuthState:
    """The auth record of ``store`` (empty if it has none)."""
    return decode(store.get(AUTH_KEY))


class AuthStore:
    """Reads and changes the users, tokens, roles and public versions of one store."""

    def __init__(self, store: KVStore, catalog: Catalog | None = None) -> None:
        self.store = store
        self.catalog = catalog or Catalog(store)

    def state(self) -> AuthState:
        return read_state(self.store)

    def _update(self, fn: Callable[[AuthState], AuthState]) -> AuthState:
        for _ in range(MAX_ATTEMPTS):
            old = self.store.get(AUTH_KEY)
            new = encode(fn(decode(old)))
            if new == old or self.store.compare_and_swap(AUTH_KEY, old, new):
                return decode(new)
        raise Conflict(f"gave up changing the auth record after {MAX_ATTEMPTS} attempts")

    @staticmethod
    def _user(state: AuthState, name: str) -> UserRecord:
        user = state.user(name)
        if user is None:
            raise NotFound(f"no user {name!r} (add one with `voxhub auth user add {name}`)")
        return user

    @staticmethod
    def _with_user(state: AuthState, user: UserRecord) -> AuthState:
        return replace(state, users={**state.users, user.name: user})

    # -- users ---------------------------------------------------------------------------
    def add_user(self, name: str, *, admin: bool = False) -> UserRecord:
        """A new user (``Conflict`` if the name is taken)."""
        check_user_name(name)

        def add(state: AuthState) -> AuthState:
            if name in state.users:
                raise Conflict(f"user {name!r} already exists")
            return self._with_user(state, UserRecord(name, _now(), admin))

        return self._update(add).users[name]

    def set_admin(self, name: str, admin: bool) -> UserRecord:
        """Make ``name`` a server-wide admin, or no longer one."""
        state = self._update(
            lambda s: self._with_user(s, replace(self._user(s, name), admin=admin))
        )
        return state.users[name]

    def remove_user(self, name: str) -> None:
        """Remove ``name`` with its tokens and roles."""

        def remove(state: AuthState) -> AuthState:
            self._user(state, name)
            return replace(state, users={k: v for k, v in state.users.items() if k != name})

        self._update(remove)

    # -- tokens --------------------------------------------------------------------------
    def create_token(
        self, name: str, note: str = "", *, days: float | None = None
    ) -> tuple[str, TokenRecord]:
        """A new token of ``name`` (valid for ``days``, or until revoked): the token itself
        (shown once, never stored) and its record."""
        if days is not None and days <= 0:
            raise InvalidRequest(f"a token must be valid for a positive number of days, not {days}")
        token = new_token()
        digest = token_hash(token)
        now = datetime.now(UTC)
        expires = "" if days is None else (now + timedelta(days=days)).isoformat(timespec="seconds")
        record = TokenRecord(digest[:12], digest, _now(), note, expires)

        def add(state: AuthState) -> AuthState:
            user = self._user(state, name)
            return self._with_user(state, replace(user, tokens=(*user.tokens, record)))

        self._update(add)
        return token, record

    def revoke_token(self, name: str, token_id: str | None) -> int:
        """Revoke ``name``'s token whose id (or the token itself) is ``token_id``, or all
        of them when ``None``; return how many were revoked."""
        wanted = token_id
        if wanted is not None and wanted.startswith("vxh_"):
            wanted = token_hash(wanted)[:12]
        revoked = 0

        def drop(state: AuthState) -> AuthState:
            nonlocal revoked
            user = self._user(state, name)
            kept = tuple(t for t in user.tokens if wanted is not None and t.id != wanted)
            revoked = len(user.tokens) - len(kept)
            if wanted is not None and not revoked:
                raise NotFound(f"user {name!r} has no token {token_id!r}")
            return self._with_user(state, replace(user, tokens=kept))

        self._update(drop)
        return revoked

    # -- roles ---------------------------------------------------------------------------
    def repo(self, ref: str) -> RepoInfo:
        """The repo named by an alias, a node UUID (or prefix) or any node ref."""
        found = self.catalog.repo_by_alias(ref)
        return found if found is not None else self.catalog.repo(ref)

    def grant(self, name: str, repo_ref: str, role: Role) -> RepoInfo:
        """Give ``name`` ``role`` in the repo (replacing the role it had there)."""
        repo = self.repo(repo_ref)

        def give(state: AuthState) -> AuthState:
            user = self._user(state, name)
            return self._with_user(state, replace(user, roles={**user.roles, repo.root: role}))

        self._update(give)
        return repo

    def revoke(self, name: str, repo_ref: str) -> RepoInfo:
        """Take ``name``'s role in the repo away."""
        repo = self.repo(repo_ref)

        def take(state: AuthState) -> AuthState:
            user = self._user(state, name)
            if repo.root not in user.roles:
                raise NotFound(f"user {name!r} has no role in repo {repo.alias or repo.root}")
            roles = {k: v for k, v in user.roles.items() if k != repo.root}
            return self._with_user(state, replace(user, roles=roles))

        self._update(take)
        return repo

    # -- public versions -------------------------------------------------------------------
    def publish(self, node_ref: str) -> str:
        """Make a committed node, and with it all its ancestors, readable by anyone."""
        node = self.catalog.node(self._node_ref(node_ref))
        if not node.locked:
            raise InvalidRequest(
                f"node {node.uuid} is open: only committed nodes can be made public "
                "(commit it first; a public node never changes)"
            )

        def add(state: AuthState) -> AuthState:
            nodes = state.public.get(node.repo, ())
            if node.uuid in nodes:
                return state
            return replace(state, public={**state.public, node.repo: (*nodes, node.uuid)})

        self._update(add)
        return node.uuid

    def unpublish(self, node_ref: str) -> str:
        """Undo :meth:`publish` of that node (its ancestors stay public if another
        published node descends from them)."""
        node = self.catalog.node(self._node_ref(node_ref))

        def drop(state: AuthState) -> AuthState:
            nodes = state.public.get(node.repo, ())
            if node.uuid not in nodes:
                raise NotFound(f"node {node.uuid} was not made public")
            kept = tuple(n for n in nodes if n != node.uuid)
            return replace(state, public={**state.public, node.repo: kept})

        self._update(drop)
        return node.uuid

    def _node_ref(self, ref: str) -> str:
        """``ref`` with a leading repo alias replaced by the repo's root (as the CLI does)."""
        head, colon, tail = ref.partition(":")
        name, tilde, steps = head.partition("~")
        repo = self.catalog.repo_by_alias(name) if name else None
        if repo is None:
            return ref
        return f"{repo.root}:{tail if colon else 'master'}{tilde}{steps}"
