"""An app with token authentication over a ``memory://`` hub: two repos, and a user per
role (server admin, repo admin, writer, reader, a user with no role in ``demo``)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub, Node
from voxhub.server import create_app
from voxhub.service.auth import AuthConfig, AuthMode, AuthStore, Role

#: user → its role in repo "demo" (None: no role); "root" is a server admin
USERS: dict[str, Role | None] = {
    "root": None,
    "owner": Role.ADMIN,
    "writer": Role.WRITE,
    "reader": Role.READ,
    "outsider": None,
}


@dataclass
class AuthEnv:
    client: TestClient
    hub: EmbeddedHub
    root: Node  # demo's root (open)
    other: Node  # the root of repo "other", where only "outsider" may write
    auth: AuthStore
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def uuid(self) -> str:
        return self.root.uuid

    def as_user(self, name: str | None) -> dict[str, str]:
        """The headers of a request made by ``name`` (None: anonymous)."""
        return {} if name is None else {"Authorization": f"Bearer {self.tokens[name]}"}


def make_auth_env(hub: EmbeddedHub, mode: AuthMode = AuthMode.TOKENS) -> tuple[AuthEnv, AuthConfig]:
    demo = hub.create_repo("demo", "test repo")
    other = hub.create_repo("other", "another repo")
    vol = demo.master.create_volume("gray", "uint8", block_shape=(8, 8, 8), max_scale=1)
    vol[0:4, 0:8, 0:16] = np.arange(4 * 8 * 16, dtype=np.uint8).reshape(4, 8, 16)
    auth = AuthStore(hub.service.store, hub.service.catalog)
    env = AuthEnv(None, hub, demo.master, other.master, auth)  # type: ignore[arg-type]
    for name, role in USERS.items():
        auth.add_user(name, admin=name == "root")
        env.tokens[name], _ = auth.create_token(name)
        if role is not None:
            auth.grant(name, "demo", role)
    auth.grant("outsider", "other", Role.WRITE)
    return env, AuthConfig(mode)


@contextmanager
def open_auth_env() -> Iterator[AuthEnv]:
    """An :class:`AuthEnv` over a new memory hub, closed afterwards."""
    hub = EmbeddedHub.open("memory://")
    env, config = make_auth_env(hub)
    with TestClient(create_app(hub, auth=config)) as client:
        env.client = client
        yield env
    hub.close()
