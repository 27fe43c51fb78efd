"""How a server authenticates: off, voxhub tokens, or OpenID Connect (``voxhub serve``).

The configuration travels to uvicorn's worker processes as JSON in an environment
variable (:meth:`AuthConfig.to_json`), like the store location.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum

from voxhub.errors import InvalidRequest
from voxhub.service.auth.model import Role

#: the cookie a browser sends its token in (set by ``POST /api/server/login``)
COOKIE = "voxhub_token"


class AuthMode(StrEnum):
    OFF = "off"  # every caller may do everything (loopback only, or --insecure)
    TOKENS = "tokens"  # voxhub tokens (``voxhub auth token create``)
    OIDC = "oidc"  # JWTs of an OpenID Connect provider, and voxhub tokens


@dataclass(frozen=True)
class GroupRole:
    """Members of ``group`` get ``role`` in ``repo`` (an alias or root UUID); ``repo`` ``*``
    with role admin makes them server-wide admins."""

    group: str
    repo: str
    role: Role

    @classmethod
    def parse(cls, text: str) -> GroupRole:
        """``GROUP=REPO:ROLE`` (e.g. ``lab-em=fib:write``) or ``GROUP=admin``."""
        group, eq, target = text.partition("=")
        repo, colon, role = target.rpartition(":")
        if not eq or not group:
            raise InvalidRequest(f"group rule {text!r} must be GROUP=REPO:ROLE or GROUP=admin")
        if not colon:
            if target.strip().lower() != "admin":
                raise InvalidRequest(f"group rule {text!r} must be GROUP=REPO:ROLE or GROUP=admin")
            return cls(group, "*", Role.ADMIN)
        if not repo:
            raise InvalidRequest(f"group rule {text!r} names no repo before ':{role}'")
        return cls(group, repo, Role.parse(role))


@dataclass(frozen=True)
class OidcConfig:
    """What an OpenID Connect provider's tokens must satisfy, and how claims map to roles."""

    issuer: str
    audience: str
    #: the provider's signing keys; empty: the ``jwks_uri`` of the issuer's
    #: ``/.well-known/openid-configuration``
    jwks_url: str = ""
    #: the claim naming the user (recorded in logs and audit lines)
    user_claim: str = "preferred_username"
    #: the claim listing the user's groups (or roles), mapped by ``group_roles``
    groups_claim: str = "groups"
    group_roles: tuple[GroupRole, ...] = ()
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    #: how long fetched signing keys are trusted before the JWKS is fetched again
    jwks_cache_seconds: float = 300.0
    #: clock skew allowed on ``exp``/``nbf``/``iat``
    leeway_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name in ("issuer", "audience"):
            if not getattr(self, name):
                raise InvalidRequest(f"OpenID Connect needs {name.replace('_', ' ')}")
        bad = set(self.algorithms) - {"RS256", "ES256", "RS384", "ES384", "RS512", "PS256"}
        if bad:
            raise InvalidRequest(f"unsupported JWT algorithms {sorted(bad)}")


@dataclass(frozen=True)
class AuthConfig:
    """The authentication of one server."""

    mode: AuthMode = AuthMode.OFF
    oidc: OidcConfig | None = None
    cookie: str = COOKIE

    def __post_init__(self) -> None:
        if (self.mode is AuthMode.OIDC) != (self.oidc is not None):
            raise InvalidRequest("OpenID Connect settings go with auth mode 'oidc' only")

    @property
    def enabled(self) -> bool:
        return self.mode is not AuthMode.OFF

    def to_json(self) -> str:
        data = asdict(self)
        data["mode"] = self.mode.value
        if self.oidc is not None:
            data["oidc"]["group_roles"] = [
                [g.group, g.repo, g.role.label] for g in self.oidc.group_roles
            ]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> AuthConfig:
        data = json.loads(text)
        oidc = data.get("oidc")
        if oidc is not None:
            rules = tuple(GroupRole(g, r, Role.parse(role)) for g, r, role in oidc["group_roles"])
            oidc = OidcConfig(
                **{**oidc, "group_roles": rules, "algorithms": tuple(oidc["algorithms"])}
            )
        return cls(AuthMode(data["mode"]), oidc, data.get("cookie", COOKIE))
