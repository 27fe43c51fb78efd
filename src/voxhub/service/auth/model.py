"""Who may do what: users, their hashed tokens, roles per repo, and public versions.

The whole record is one JSON document in the served store (see
:mod:`voxhub.service.auth.store`): a lab has tens or hundreds of users, not millions, and
one record changes atomically with a compare-and-swap on every backend. Tokens are never
stored, only the SHA-256 of each (a token holds 256 random bits, so a plain hash is
enough: there is nothing to guess, and a leaked store reveals no usable token).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from functools import cached_property
from typing import Any

from voxhub.errors import InvalidRequest, StorageError

#: what every voxhub token starts with (so a leaked one is recognisable in logs and scans)
TOKEN_PREFIX = "vxh_"
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


class Role(IntEnum):
    """A user's role in one repo; each includes the ones below it."""

    READ = 1  # read every version, its data and the repo's history
    WRITE = 2  # also write data, commit, branch, merge, create instances
    ADMIN = 3  # also change the repo's alias and description

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``text`` (``read``, ``write`` or ``admin``)."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise InvalidRequest(
                f"role {text!r} is not one of {', '.join(r.name.lower() for r in cls)}"
            ) from None

    @property
    def label(self) -> str:
        return self.name.lower()


def check_user_name(name: str) -> str:
    """``name`` if it is a valid user name (letters, digits, ``._@+-``; 1-128 chars)."""
    if not isinstance(name, str) or not _USER_NAME.match(name):
        raise InvalidRequest(
            f"user name {name!r} must be 1-128 letters, digits or ._@+- (starting with a "
            "letter or digit)"
        )
    return name


def new_token() -> str:
    """A fresh token: the prefix and 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of ``token``: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class TokenRecord:
    """One token of a user, as stored (its hash, never the token)."""

    id: str  # the first 12 hex digits of the hash: how ``token revoke`` names it
    hash: str
    created: str
    note: str = ""
    #: when the token stops working (ISO 8601, UTC); empty: never
    expires: str = ""

    def expired(self, now: datetime) -> bool:
        return bool(self.expires) and datetime.fromisoformat(self.expires) <= now


@dataclass(frozen=True)
class UserRecord:
    """A user: server-wide admin or not, a role per repo (by root UUID), tokens."""

    name: str
    created: str
    admin: bool = False
    roles: Mapping[str, Role] = field(default_factory=dict)
    tokens: tuple[TokenRecord, ...] = ()


@dataclass(frozen=True)
class AuthState:
    """Everything the auth record holds; immutable, replaced as a whole on each change."""

    users: Mapping[str, UserRecord] = field(default_factory=dict)
    #: repo root UUID → the node UUIDs published in it (each also publishes its ancestors)
    public: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def by_token_hash(self) -> dict[str, tuple[UserRecord, TokenRecord]]:
        """Token hash → its user and record (built once per state)."""
        return {t.hash: (u, t) for u in self.users.values() for t in u.tokens}

    def user(self, name: str) -> UserRecord | None:
        return self.users.get(name)


def encode(state: AuthState) -> bytes:
    """Canonical JSON bytes of ``state`` (sorted keys: equal states, equal bytes)."""
    users = {
        u.name: {
            "created": u.created,
            "admin": u.admin,
            "roles": {repo: role.label for repo, role in sorted(u.roles.items())},
            "tokens": [vars(t) for t in u.tokens],
        }
        for u in state.users.values()
    }
    public = {repo: sorted(nodes) for repo, nodes in state.public.items() if nodes}
    data = {"format": 1, "users": users, "public": public}
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def decode(raw: bytes | None) -> AuthState:
    """The state stored as ``raw`` (``None``: no record yet, the empty state)."""
    if raw is None:
        return AuthState()
    try:
        data: Any = json.loads(raw)
        users = {
            name: UserRecord(
                name=name,
                created=str(u["created"]),
                admin=bool(u.get("admin", False)),
                roles={repo: Role.parse(r) for repo, r in u.get("roles", {}).items()},
                tokens=tuple(TokenRecord(**t) for t in u.get("tokens", [])),
            )
            for name, u in data["users"].items()
        }
        public = {repo: tuple(nodes) for repo, nodes in data.get("public", {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise StorageError(f"corrupt auth record in the store: {e!r}") from e
    return AuthState(users, public)
