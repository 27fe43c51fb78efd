"""From the token a request carries to its :class:`~voxhub.service.auth.principal.Principal`."""

from __future__ import annotations

from datetime import UTC, datetime

from voxhub.errors import Unauthorized
from voxhub.service.auth.config import AuthConfig, AuthMode
from voxhub.service.auth.model import token_hash
from voxhub.service.auth.oidc import OidcVerifier, looks_like_jwt
from voxhub.service.auth.policy import StateCache
from voxhub.service.auth.principal import ANONYMOUS, OPEN, Principal


class Authenticator:
    """Recognises the caller of a request by its token (none: anonymous).

    In ``tokens`` mode a token is looked up by its hash in the store's auth record; in
    ``oidc`` mode a JWT is verified against the provider and other tokens are looked up
    as in ``tokens`` mode (service accounts keep voxhub tokens). With auth off everyone
    is :data:`~voxhub.service.auth.principal.OPEN`.
    """

    def __init__(self, config: AuthConfig, states: StateCache) -> None:
        self.config = config
        self.states = states
        self.oidc = OidcVerifier(config.oidc) if config.oidc is not None else None

    @property
    def needs_thread(self) -> bool:
        """Whether :meth:`principal` may block on the network (a JWKS fetch)."""
        return self.oidc is not None

    def principal(self, token: str | None) -> Principal:
        """The caller holding ``token`` (blocking: reads the auth record, maybe the JWKS);
        ``Unauthorized`` for a token that is unknown, revoked or fails verification."""
        if self.config.mode is AuthMode.OFF:
            return OPEN
        if not token:
            return ANONYMOUS
        state = self.states.current()
        if self.oidc is not None and looks_like_jwt(token):
            return self.oidc.principal(token, state)
        found = state.by_token_hash.get(token_hash(token))
        if found is None:
            raise Unauthorized(
                "the token sent is not valid here (unknown or revoked); ask an administrator "
                "for a new one"
            )
        user, record = found
        if record.expired(datetime.now(UTC)):
            raise Unauthorized(
                f"the token sent expired at {record.expires}; ask an administrator for a new one"
            )
        return Principal.of_user(user)
