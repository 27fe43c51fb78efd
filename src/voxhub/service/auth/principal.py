"""Who is asking: a :class:`Principal`, made from a voxhub token or an OpenID Connect token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from voxhub.service.auth.model import Role, UserRecord
from voxhub.versioning.catalog import RepoInfo


@dataclass(frozen=True)
class Principal:
    """The caller of one request.

    ``roles`` maps a repo root UUID (grants kept in the store) or a repo alias (roles an
    OpenID Connect group maps to) to the caller's role there. ``open`` marks a server
    without authentication, where every caller may do everything.
    """

    user: str = ""
    admin: bool = False
    roles: Mapping[str, Role] = field(default_factory=dict)
    #: how the caller was recognised: "token", "oidc", "anonymous" or "open"
    via: str = "anonymous"

    @property
    def authenticated(self) -> bool:
        return bool(self.user)

    @property
    def open(self) -> bool:
        return self.via == "open"

    def role_in(self, repo: RepoInfo) -> Role | None:
        """The caller's role in ``repo`` (``ADMIN`` for a server admin), or ``None``."""
        if self.admin:
            return Role.ADMIN
        found = [r for key in (repo.root, repo.alias) if key and (r := self.roles.get(key))]
        return max(found) if found else None

    @classmethod
    def of_user(cls, user: UserRecord, via: str = "token") -> Principal:
        return cls(user.name, user.admin, dict(user.roles), via)

    def describe(self) -> str:
        """How an error names the caller."""
        return f"user {self.user!r}" if self.user else "an anonymous caller"


#: nobody: a request without a token on a server with authentication
ANONYMOUS = Principal()
#: everybody: every request on a server without authentication
OPEN = Principal(admin=True, via="open")
