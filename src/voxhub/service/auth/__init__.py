"""Authentication and authorisation below the web layer: users, hashed tokens, roles per
repo, public versions (:mod:`.model`, kept in the served store by :mod:`.store`), who a
token names (:mod:`.authenticate`, :mod:`.oidc`) and what that caller may do
(:mod:`.policy`). The server (:mod:`voxhub.server.auth`) and ``voxhub auth`` both stand on
it; nothing here imports the web stack.
"""

from voxhub.service.auth.authenticate import Authenticator
from voxhub.service.auth.config import COOKIE, AuthConfig, AuthMode, GroupRole, OidcConfig
from voxhub.service.auth.model import AuthState, Role, TokenRecord, UserRecord
from voxhub.service.auth.policy import Policy, StateCache
from voxhub.service.auth.principal import ANONYMOUS, OPEN, Principal
from voxhub.service.auth.store import AuthStore, read_state
from voxhub.service.auth.viewer import Viewer

__all__ = [
    "ANONYMOUS",
    "COOKIE",
    "OPEN",
    "AuthConfig",
    "AuthMode",
    "AuthState",
    "AuthStore",
    "Authenticator",
    "GroupRole",
    "OidcConfig",
    "Policy",
    "Principal",
    "Role",
    "StateCache",
    "TokenRecord",
    "UserRecord",
    "Viewer",
    "read_state",
]
