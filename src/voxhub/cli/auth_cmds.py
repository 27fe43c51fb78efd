"""``voxhub auth``: users, tokens, roles per repo and public versions of a store.

These commands change the auth record inside the store itself (``--store``), which a
running ``voxhub serve`` on that store reads on its next request; they need no server and
no ``server`` extra. Tokens are printed once, when made, and stored only as hashes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from voxhub.cli.common import REF_HELP, friendly_errors, local_path, store_option
from voxhub.errors import InvalidRequest, NotFound
from voxhub.service import Service
from voxhub.service.auth import AuthStore, Role

ROLES = click.Choice([r.label for r in Role], case_sensitive=False)


@contextmanager
def auth_store(store: str, *, create: bool = False) -> Iterator[AuthStore]:
    """The auth record of ``store`` (a local or object store, not a server URL)."""
    if store.startswith(("http://", "https://")):
        raise InvalidRequest(
            f"{store} is a server: `voxhub auth` changes the store the server serves, so "
            "give that store's path or URL with --store"
        )
    path = local_path(store)
    if path is not None and not create and not path.exists():
        raise NotFound(f"no store at {store} (name one with --store or $VOXHUB_STORE)")
    service = Service.open(store)
    try:
        yield AuthStore(service.store, service.catalog)
    finally:
        service.close()


@click.group()
def auth() -> None:
    """Users, tokens, roles and public versions of a store (for voxhub serve --auth)."""


@auth.group()
def user() -> None:
    """Add or remove users, or make them server-wide administrators."""


@user.command("add")
@store_option
@click.argument("name")
@click.option("--admin", is_flag=True, help="A server-wide administrator (every repo).")
@friendly_errors
def user_add(store: str, name: str, admin: bool) -> None:
    """Add user NAME (then give it a token and roles)."""
    with auth_store(store, create=True) as a:
        a.add_user(name, admin=admin)
    click.echo(f"added user {name}" + (" (server admin)" if admin else ""))


@user.command("admin")
@store_option
@click.argument("name")
@click.option("--revoke", is_flag=True, help="No longer a server-wide administrator.")
@friendly_errors
def user_admin(store: str, name: str, revoke: bool) -> None:
    """Make NAME a server-wide administrator (or, with --revoke, no longer one)."""
    with auth_store(store) as a:
        a.set_admin(name, not revoke)
    click.echo(f"{name} is {'no longer ' if revoke else ''}a server admin")


@user.command("remove")
@store_option
@click.argument("name")
@friendly_errors
def user_remove(store: str, name: str) -> None:
    """Remove user NAME with its tokens and roles."""
    with auth_store(store) as a:
        a.remove_user(name)
    click.echo(f"removed user {name}")


@auth.group()
def token() -> None:
    """Make or revoke a user's tokens."""


@token.command("create")
@store_option
@click.argument("name")
@click.option("--note", default="", help="What the token is for (shown by `auth list`).")
@click.option(
    "--days", type=click.FloatRange(min=0, min_open=True), help="Valid this many days only."
)
@friendly_errors
def token_create(store: str, name: str, note: str, days: float | None) -> None:
    """Make a token for NAME and print it (the only time it is shown)."""
    with auth_store(store) as a:
        secret, _ = a.create_token(name, note, days=days)
    click.echo(secret)


@token.command("revoke")
@store_option
@click.argument("name")
@click.argument("token_id", required=False)
@click.option("--all", "everything", is_flag=True, help="Revoke every token of NAME.")
@friendly_errors
def token_revoke(store: str, name: str, token_id: str | None, everything: bool) -> None:
    """Revoke NAME's token TOKEN_ID (its id from `auth list`, or the token itself)."""
    if (token_id is None) == (not everything):
        raise click.UsageError("give a TOKEN_ID or --all (not both)")
    with auth_store(store) as a:
        count = a.revoke_token(name, token_id)
    click.echo(f"revoked {count} token(s) of {name}")


@auth.command("grant", epilog="REPO is a repo alias or a UUID (prefix) of any of its nodes.")
@store_option
@click.argument("name")
@click.argument("repo")
@click.argument("role", type=ROLES)
@friendly_errors
def grant(store: str, name: str, repo: str, role: str) -> None:
    """Give NAME the ROLE (read, write or admin) in REPO."""
    with auth_store(store) as a:
        info = a.grant(name, repo, Role.parse(role))
    click.echo(f"{name} may {role.lower()} {info.alias or info.root}")


@auth.command("revoke", epilog="REPO is a repo alias or a UUID (prefix) of any of its nodes.")
@store_option
@click.argument("name")
@click.argument("repo")
@friendly_errors
def revoke(store: str, name: str, repo: str) -> None:
    """Take NAME's role in REPO away."""
    with auth_store(store) as a:
        info = a.revoke(name, repo)
    click.echo(f"{name} has no role in {info.alias or info.root}")


@auth.command("public", epilog=REF_HELP)
@store_option
@click.argument("ref")
@friendly_errors
def public(store: str, ref: str) -> None:
    """Make the committed node REF and its ancestors readable by anyone (no token)."""
    with auth_store(store) as a:
        click.echo(a.publish(ref))


@auth.command("unpublic", epilog=REF_HELP)
@store_option
@click.argument("ref")
@friendly_errors
def unpublic(store: str, ref: str) -> None:
    """Undo `auth public REF`."""
    with auth_store(store) as a:
        click.echo(a.unpublish(ref))


@auth.command("list")
@store_option
@friendly_errors
def list_all(store: str) -> None:
    """Users (admin, roles, token ids) and public versions."""
    with auth_store(store) as a:
        state = a.state()
        names = {r.root: r.alias or r.root for r in a.catalog.repos()}
    for u in sorted(state.users.values(), key=lambda u: u.name):
        roles = ", ".join(f"{names.get(r, r)}:{role.label}" for r, role in sorted(u.roles.items()))
        admin = " admin" if u.admin else ""
        click.echo(f"user {u.name}{admin}  roles: {roles or '-'}  created {u.created}")
        for t in u.tokens:
            until = f"  expires {t.expires}" if t.expires else ""
            click.echo(f"  token {t.id}  created {t.created}{until}  {t.note}".rstrip())
    for repo, nodes in sorted(state.public.items()):
        for node in nodes:
            click.echo(f"public {names.get(repo, repo)} {node}")
