"""``voxhub auth``: users, tokens (shown once, stored hashed), roles, public versions; and
``voxhub serve`` refusing to run without authentication where other machines reach it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from voxhub.cli.main import cli
from voxhub.cli.serve_auth import auth_config, is_loopback
from voxhub.service import Service
from voxhub.service.auth import AuthMode, Role, read_state
from voxhub.service.auth.model import AuthState, token_hash


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "store")
    run("repo", "create", "fib", "--store", path)
    return path


def test_users_tokens_and_roles(store: str) -> None:
    assert "server admin" in run("auth", "user", "add", "ann", "--admin", "--store", store)
    run("auth", "user", "add", "bob", "--store", store)
    assert "already exists" in run("auth", "user", "add", "bob", "--store", store, code=1)
    token = run("auth", "token", "create", "bob", "--note", "laptop", "--store", store).strip()
    run("auth", "token", "create", "bob", "--days", "30", "--store", store)
    assert run("auth", "token", "create", "bob", "--days", "0", "--store", store, code=2)
    assert token.startswith("vxh_")
    assert len(token) > 40
    assert "bob may write fib" in run("auth", "grant", "bob", "fib", "write", "--store", store)
    assert run("auth", "grant", "bob", "fib", "owner", "--store", store, code=2)
    assert "no user 'eve'" in run("auth", "grant", "eve", "fib", "read", "--store", store, code=1)
    listing = run("auth", "list", "--store", store)
    assert "user ann admin" in listing
    assert "user bob  roles: fib:write" in listing
    assert f"token {token_hash(token)[:12]}" in listing
    assert "laptop" in listing
    assert "expires 20" in listing
    assert token not in listing
    assert "no longer" in run("auth", "user", "admin", "ann", "--revoke", "--store", store)
    run("auth", "user", "admin", "bob", "--store", store)
    assert "user bob admin" in run("auth", "list", "--store", store)
    run("auth", "revoke", "bob", "fib", "--store", store)
    run("auth", "token", "revoke", "bob", token_hash(token)[:12], "--store", store)
    run("auth", "user", "remove", "ann", "--store", store)
    state, _ = _stored(store)
    assert list(state.users) == ["bob"]
    assert state.users["bob"].roles == {}
    assert [t.expires[:2] for t in state.users["bob"].tokens] == ["20"]  # the 30-day one


def test_the_store_keeps_only_the_hash_of_a_token(store: str) -> None:
    run("auth", "user", "add", "bob", "--store", store)
    token = run("auth", "token", "create", "bob", "--store", store).strip()
    state, everything = _stored(store)
    assert token.encode() not in everything
    assert token_hash(token).encode() in everything
    user = state.users["bob"]
    assert user.tokens[0].hash == token_hash(token)


def test_public_versions_must_be_committed(store: str) -> None:
    assert "only committed nodes" in run("auth", "public", "fib", "--store", store, code=1)
    run("repo", "commit", "fib", "--store", store)
    uuid = run("auth", "public", "fib", "--store", store).strip()
    assert f"public fib {uuid}" in run("auth", "list", "--store", store)
    run("auth", "unpublic", uuid, "--store", store)
    assert "public" not in run("auth", "list", "--store", store)


def test_auth_commands_refuse_a_server_url_and_a_missing_store(tmp_path: Path) -> None:
    out = run("auth", "list", "--store", "http://127.0.0.1:1", code=1)
    assert "is a server" in out
    assert "no store" in run("auth", "list", "--store", str(tmp_path / "none"), code=1)


def _stored(store: str) -> tuple[AuthState, bytes]:
    """The auth record of ``store`` and every byte it holds (closed again: LMDB allows one
    environment per file and process)."""
    service = Service.open(store)
    try:
        everything = b"".join(k + (v or b"") for k, v in service.store.scan(b""))
        return read_state(service.store), everything
    finally:
        service.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_refuses_a_reachable_address_without_auth(store: str) -> None:
    args = ["serve", "--store", store, "--host", "0.0.0.0", "--port", str(_free_port())]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "without authentication" in result.output
    assert "--insecure" in result.output
    assert "voxhub serving" not in result.output


def _options(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "auth_mode": "auto", "insecure": False, "oidc_issuer": "", "oidc_audience": "",
        "oidc_jwks_url": "", "oidc_user_claim": "sub", "oidc_groups_claim": "groups",
        "oidc_role": (),
    }  # fmt: skip
    return base | kw


def test_auth_is_on_by_default_once_the_store_has_users(store: str) -> None:
    assert auth_config(store, "127.0.0.1", _options()).mode is AuthMode.OFF
    assert auth_config(store, "0.0.0.0", _options(insecure=True)).mode is AuthMode.OFF
    run("auth", "user", "add", "bob", "--store", store)
    assert auth_config(store, "0.0.0.0", _options()).mode is AuthMode.TOKENS
    assert auth_config(store, "127.0.0.1", _options(auth_mode="off")).mode is AuthMode.OFF
    config = auth_config(
        store,
        "0.0.0.0",
        _options(
            auth_mode="oidc",
            oidc_issuer="https://id.example",
            oidc_audience="voxhub",
            oidc_jwks_url="https://id.example/jwks",
            oidc_role=("em=fib:write", "ops=admin"),
        ),
    )
    assert config.oidc is not None
    rules = [(g.group, g.repo, g.role) for g in config.oidc.group_roles]
    assert rules == [("em", "fib", Role.WRITE), ("ops", "*", Role.ADMIN)]


def test_loopback_detection() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert is_loopback(host)
    for host in ("0.0.0.0", "::"):
        assert not is_loopback(host)
    assert not is_loopback("no-such-host.invalid")
