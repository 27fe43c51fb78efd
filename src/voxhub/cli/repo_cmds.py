"""``voxhub repo create|list|log|commit|branch|newversion``."""

from __future__ import annotations

import click

from voxhub.cli.common import REF_HELP, friendly_errors, node_of, opened, store_option


@click.group(epilog=REF_HELP)
def repo() -> None:
    """Repos and their version nodes."""


@repo.command("create")
@store_option
@click.argument("alias")
@click.option("--description", "-d", default="", help="Free-text description.")
@friendly_errors
def create(store: str, alias: str, description: str) -> None:
    """Create a repo; prints its root UUID."""
    with opened(store, create=True) as hub:
        click.echo(hub.create_repo(alias, description).root)


@repo.command("list")
@store_option
@friendly_errors
def list_repos(store: str) -> None:
    """List repos: root UUID, alias, master leaf, instances."""
    with opened(store) as hub:
        for r in hub.repos():
            master = r.master
            names = ", ".join(f"{n} ({t})" for n, t in master.instances().items()) or "-"
            state = "committed" if master.locked else "open"
            click.echo(f"{r.root}  {r.alias or '-':<16} master={master.uuid[:8]} {state}  {names}")


@repo.command("log", epilog=REF_HELP)
@store_option
@click.argument("ref")
@friendly_errors
def log(store: str, ref: str) -> None:
    """Nodes from the root to REF."""
    with opened(store) as hub:
        for node in node_of(hub, ref).lineage():
            info = node.info
            state = "committed" if info.locked else "open"
            click.echo(f"{info.uuid}  {info.branch:<12} {state:<9} {info.created}  {info.note}")


@repo.command("commit", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.option("--note", "-m", default=None, help="Commit note.")
@friendly_errors
def commit(store: str, ref: str, note: str | None) -> None:
    """Commit (lock for good) the node REF."""
    with opened(store) as hub:
        click.echo(node_of(hub, ref).commit(note).uuid)


@repo.command("newversion", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.option("--note", "-m", default="", help="Note of the new node.")
@friendly_errors
def newversion(store: str, ref: str, note: str) -> None:
    """Create an open child of the committed node REF on its branch; prints its UUID."""
    with opened(store) as hub:
        click.echo(node_of(hub, ref).newversion(note).uuid)


@repo.command("branch", epilog=REF_HELP)
@store_option
@click.argument("ref")
@click.argument("name")
@click.option("--note", "-m", default="", help="Note of the new node.")
@friendly_errors
def branch(store: str, ref: str, name: str, note: str) -> None:
    """Start branch NAME from the committed node REF; prints the new node's UUID."""
    with opened(store) as hub:
        click.echo(node_of(hub, ref).branch(name, note).uuid)
