"""OpenID Connect: JWTs signed with keys this test makes (RS256, ES256), checked against a
JWKS served by a real HTTP server on loopback; claims mapped to roles."""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.auth.guard import Guarded
from voxhub.service.auth import AuthConfig, AuthMode, GroupRole, OidcConfig, Role

from .auth_env import AuthEnv, make_auth_env

ISSUER, AUDIENCE = "https://id.example.org/realms/lab", "voxhub"


@dataclass
class Jwks:
    """A JWKS document served over HTTP on 127.0.0.1; ``keys`` can be changed live."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.issuer}/certs"


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    served = Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":  # discovery
                document: dict[str, Any] = {"issuer": served.issuer, "jwks_uri": served.url}
            else:
                served.requests += 1
                document = {"keys": served.keys}
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    served.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=served.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()
    thread.join()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
FORGED_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    return jwk | {"kid": kid, "use": "sig"}


def token(key: Any = RSA_KEY, kid: str = "rsa1", alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now}
    body |= {"preferred_username": "carol", "realm_access": {"roles": []}} | claims
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def roles(*names: str) -> dict[str, Any]:
    return {"realm_access": {"roles": list(names)}}


@dataclass
class Oidc:
    env: AuthEnv
    jwks: Jwks

    def status(self, method: str, path: str, bearer: str, **kw: Any) -> int:
        headers = {"Authorization": f"Bearer {bearer}"}
        return self.env.client.request(method, path, headers=headers, **kw).status_code


@pytest.fixture
def oidc(jwks: Jwks) -> Iterator[Oidc]:
    jwks.keys = [public_jwk(RSA_KEY, "rsa1"), public_jwk(EC_KEY, "ec1")]
    rules = (
        GroupRole("em-readers", "demo", Role.READ),
        GroupRole("em-writers", "demo", Role.WRITE),
        GroupRole("ops", "*", Role.ADMIN),
    )
    config = OidcConfig(ISSUER, AUDIENCE, jwks.url, groups_claim="realm_access.roles",
                        group_roles=rules)  # fmt: skip
    hub = EmbeddedHub.open("memory://")
    env, _ = make_auth_env(hub)
    with TestClient(create_app(hub, auth=AuthConfig(AuthMode.OIDC, config))) as client:
        env.client = client
        yield Oidc(env, jwks)
    hub.close()


def test_groups_map_to_roles(oidc: Oidc) -> None:
    u = oidc.env.uuid
    info, note = f"/api/node/{u}/gray/info", f"/api/node/{u}/note"
    reader, writer = token(**roles("em-readers")), token(**roles("em-writers"))
    assert oidc.status("GET", info, reader) == 200
    assert oidc.status("POST", note, reader, json={"note": "x"}) == 403
    assert oidc.status("POST", note, writer, json={"note": "x"}) == 200
    assert oidc.status("GET", info, token()) == 403  # a user, but no group
    assert oidc.status("POST", "/api/repos", writer, json={"alias": "n"}) == 403
    assert oidc.status("POST", "/api/repos", token(**roles("ops")), json={"alias": "n"}) == 200
    me = oidc.env.client.get("/api/voxhub/whoami", headers={"Authorization": f"Bearer {writer}"})
    assert me.json()["user"] == "carol"
    assert me.json()["roles"] == {"demo": "write"}


def test_es256_tokens_and_voxhub_tokens_are_accepted(oidc: Oidc) -> None:
    info = f"/api/node/{oidc.env.uuid}/gray/info"
    assert oidc.status("GET", info, token(EC_KEY, "ec1", "ES256", **roles("em-readers"))) == 200
    assert oidc.status("GET", info, oidc.env.tokens["reader"]) == 200  # service accounts


def test_stored_grants_add_to_the_groups_of_the_same_user(oidc: Oidc) -> None:
    oidc.env.auth.add_user("carol")
    oidc.env.auth.grant("carol", "demo", Role.WRITE)
    note = f"/api/node/{oidc.env.uuid}/note"
    assert oidc.status("POST", note, token(), json={"note": "x"}) == 200


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (lambda: token(aud="someone-else"), "audience"),
        (lambda: token(iss="https://evil.example"), "issuer"),
        (lambda: token(exp=int(time.time()) - 3600), "expired"),
        (lambda: token(FORGED_KEY), "Signature"),
        (lambda: token(kid="unknown"), "does not list"),
        (lambda: token(preferred_username=""), "no user claim"),
        (lambda: jwt.encode({"aud": AUDIENCE}, "s" * 32, algorithm="HS256"), "HS256"),
        (lambda: token()[: -10] + "AAAAAAAAAA", "Signature"),
    ],
)  # fmt: skip
def test_bad_tokens_are_refused_with_401(oidc: Oidc, bad: Any, why: str) -> None:
    r = oidc.env.client.get("/api/heartbeat", headers={"Authorization": f"Bearer {bad()}"})
    assert r.status_code == 401
    assert why.lower() in r.json()["error"].lower()


def _jwks_cache(oidc: Oidc) -> Any:
    app = oidc.env.client.app
    guarded = next(r.app for r in app.routes if isinstance(getattr(r, "app", None), Guarded))
    return guarded.gate.authenticator.oidc.jwks


def test_keys_are_cached_and_fetched_again_for_a_new_key_id(oidc: Oidc) -> None:
    info = f"/api/node/{oidc.env.uuid}/gray/info"
    for _ in range(5):
        assert oidc.status("GET", info, token(**roles("em-readers"))) == 200
    assert oidc.jwks.requests == 1
    _jwks_cache(oidc).refetch_seconds = 0.0  # the provider rotates its key now
    oidc.jwks.keys = [public_jwk(FORGED_KEY, "rsa2")]
    assert oidc.status("GET", info, token(FORGED_KEY, "rsa2", **roles("em-readers"))) == 200
    assert oidc.jwks.requests == 2
    assert oidc.status("GET", info, token(**roles("em-readers"))) == 401  # the old key is gone


def test_an_unreachable_provider_is_503_not_500(oidc: Oidc) -> None:
    assert oidc.jwks.server is not None
    oidc.jwks.server.shutdown()
    oidc.jwks.server.server_close()
    r = oidc.env.client.get("/api/heartbeat", headers={"Authorization": f"Bearer {token()}"})
    assert r.status_code == 503
    assert "signing keys" in r.json()["error"]


def test_the_jwks_url_is_discovered_from_the_issuer(jwks: Jwks) -> None:
    jwks.keys = [public_jwk(RSA_KEY, "rsa1")]
    config = OidcConfig(jwks.issuer, AUDIENCE, group_roles=(GroupRole("em", "demo", Role.READ),))
    hub = EmbeddedHub.open("memory://")
    env, _ = make_auth_env(hub)
    with TestClient(create_app(hub, auth=AuthConfig(AuthMode.OIDC, config))) as client:
        bearer = token(iss=jwks.issuer, groups=["em"])
        r = client.get(
            f"/api/node/{env.uuid}/gray/info", headers={"Authorization": f"Bearer {bearer}"}
        )
        assert r.status_code == 200
    hub.close()
    assert jwks.requests == 1


def test_any_garbage_token_is_a_401_never_a_500(oidc: Oidc) -> None:
    alphabet = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
    parts = st.text(alphabet, max_size=40)
    garbage = st.one_of(
        parts,
        st.builds(lambda a, b, c: f"{a}.{b}.{c}", parts, parts, parts),  # JWT-shaped
        st.builds(lambda t, n: t[:n], st.just(token()), st.integers(0, 400)),  # cut short
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(garbage, st.booleans())
    def check(bearer: str, cookie: bool) -> None:
        client = oidc.env.client
        client.cookies.clear()
        if cookie:
            client.cookies.set("voxhub_token", bearer)
            r = client.get("/api/heartbeat")
        else:
            r = client.get("/api/heartbeat", headers={"Authorization": f"Bearer {bearer}"})
        assert r.status_code in (200, 401), r.text  # 200: an empty token is no token
        if r.status_code == 401:
            assert r.json()["type"] == "Unauthorized"

    check()
