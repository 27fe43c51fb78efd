"""Tokens of an OpenID Connect provider (Keycloak, Auth0, Google, ...): JWTs whose
signature is checked against the provider's JWKS, with issuer, audience and expiry.

The signing keys are fetched from the JWKS URL and kept for
:attr:`~voxhub.service.auth.config.OidcConfig.jwks_cache_seconds`; a token signed with a
key id not seen yet fetches the set again (providers rotate keys), at most once every
:data:`REFETCH_SECONDS`, so a flood of forged key ids cannot make the server hammer the
provider. The user is the claim ``user_claim``; the groups claim (a dotted path such as
Keycloak's ``realm_access.roles`` works too) maps to roles through ``group_roles``, added
to the roles the store grants that user name.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

from voxhub.errors import StorageError, Unauthorized
from voxhub.optional import require
from voxhub.service.auth.config import OidcConfig
from voxhub.service.auth.model import AuthState, Role
from voxhub.service.auth.principal import Principal

#: the shortest interval between two JWKS fetches caused by unknown key ids
REFETCH_SECONDS = 10.0
#: a JWKS document larger than this is refused (a JWKS holds a few keys, a few KiB)
MAX_JWKS_BYTES = 1 << 20


def looks_like_jwt(token: str) -> bool:
    """Whether ``token`` has a JWT's shape (three dot-separated parts)."""
    return token.count(".") == 2 and not token.startswith("vxh_")


class JwksCache:
    """The provider's signing keys by key id, fetched on demand."""

    def __init__(self, url: str, ttl_seconds: float, issuer: str = "") -> None:
        self.url = url  # empty: discovered from the issuer on first use
        self.issuer = issuer
        self.ttl_seconds = ttl_seconds
        self._keys: dict[str, Any] = {}
        self._fetched = -float("inf")
        self._lock = threading.Lock()
        self.refetch_seconds = REFETCH_SECONDS
        self.fetches = 0  # how many times the JWKS was fetched (tests check the cache)

    def key(self, kid: str | None) -> Any:
        """The key with id ``kid`` (the only key when the token names none)."""
        with self._lock:
            age = time.monotonic() - self._fetched
            stale = age > self.ttl_seconds
            unknown = kid not in self._keys and age > self.refetch_seconds
            if stale or (unknown and kid is not None):
                self._keys = self._fetch()
                self._fetched = time.monotonic()
            keys = self._keys
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        found = keys.get(kid or "")
        if found is None:
            raise Unauthorized(f"token signed with key id {kid!r}, which {self.url} does not list")
        return found

    def _fetch(self) -> dict[str, Any]:
        jwt = require("jwt", "OpenID Connect authentication")
        if not self.url:
            self.url = discover_jwks_url(self.issuer)
        self.fetches += 1
        try:
            keyset = jwt.PyJWKSet.from_dict(get_json(self.url))
        except (OSError, ValueError, jwt.PyJWKSetError) as e:
            raise StorageError(f"cannot read the signing keys at {self.url}: {e}") from e
        return {k.key_id or "": k for k in keyset.keys}


def get_json(url: str) -> Any:
    """The JSON document at ``url`` (at most :data:`MAX_JWKS_BYTES`)."""
    with urllib.request.urlopen(url, timeout=10) as reply:
        raw = reply.read(MAX_JWKS_BYTES + 1)
    if len(raw) > MAX_JWKS_BYTES:
        raise ValueError(f"larger than {MAX_JWKS_BYTES} bytes")
    return json.loads(raw)


def discover_jwks_url(issuer: str) -> str:
    """The ``jwks_uri`` of the provider's ``/.well-known/openid-configuration``."""
    where = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        found = get_json(where).get("jwks_uri")
    except (OSError, ValueError, AttributeError) as e:
        raise StorageError(f"cannot read the provider configuration at {where}: {e}") from e
    if not isinstance(found, str) or not found:
        raise StorageError(f"{where} names no jwks_uri")
    return found


def claim(claims: dict[str, Any], path: str) -> Any:
    """The claim at a dotted ``path`` (``realm_access.roles``), or ``None``."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class OidcVerifier:
    """Checks provider tokens and turns their claims into a :class:`Principal`."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self.jwks = JwksCache(config.jwks_url, config.jwks_cache_seconds, config.issuer)

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token`` (``Unauthorized`` naming what is wrong)."""
        jwt = require("jwt", "OpenID Connect authentication")
        config = self.config
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in config.algorithms:
                raise Unauthorized(
                    f"token signed with {header.get('alg')!r}; this server accepts "
                    f"{', '.join(config.algorithms)}"
                )
            key = self.jwks.key(header.get("kid"))
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(config.algorithms),
                audience=config.audience,
                issuer=config.issuer,
                leeway=config.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as e:
            raise Unauthorized(f"OpenID Connect token refused: {e}") from None
        return claims

    def principal(self, token: str, state: AuthState) -> Principal:
        """The caller a provider token names, with its group roles and stored grants."""
        claims = self.claims(token)
        user = claim(claims, self.config.user_claim)
        if not isinstance(user, str) or not user:
            raise Unauthorized(f"token has no user claim {self.config.user_claim!r}")
        groups = claim(claims, self.config.groups_claim) or []
        if isinstance(groups, str):
            groups = groups.split()
        member = {g for g in groups if isinstance(g, str)}
        roles: dict[str, Role] = {}
        admin = False
        for rule in self.config.group_roles:
            if rule.group not in member:
                continue
            if rule.repo == "*":
                admin = True
            elif roles.get(rule.repo, 0) < rule.role:
                roles[rule.repo] = rule.role
        stored = state.user(user)
        if stored is not None:
            admin = admin or stored.admin
            for repo, role in stored.roles.items():
                roles[repo] = max(role, roles.get(repo, role))
        return Principal(user, admin, roles, "oidc")
