"""``voxhub doctor STORE``: check that stored data reads and derived data agrees."""

from __future__ import annotations

import click

from voxhub.cli.common import REF_HELP, STORE_ENV, friendly_errors, node_of, opened
from voxhub.datatypes.health import DEFAULT_SAMPLE, CheckOptions
from voxhub.errors import InvalidRequest
from voxhub.service import Service


@click.command("doctor", epilog=REF_HELP)
@click.argument("store", envvar=STORE_ENV)
@click.option("--repo", "repos", multiple=True, help="Check only this repo (alias or UUID).")
@click.option("--node", "nodes", multiple=True, help="Check derived data at this node (REF).")
@click.option("--instance", "instances", multiple=True, help="Check only this instance.")
@click.option("--all-nodes", is_flag=True, help="Check derived data at every node.")
@click.option("--all", "all_bodies", is_flag=True, help="Recount every body's label index.")
@click.option(
    "--sample",
    default=DEFAULT_SAMPLE,
    show_default=True,
    type=click.IntRange(min=0),
    help="Bodies whose label index is recounted (without --all).",
)
@click.option("--repair", is_flag=True, help="Rebuild derived data that disagrees.")
@friendly_errors
def doctor(
    store: str,
    repos: tuple[str, ...],
    nodes: tuple[str, ...],
    instances: tuple[str, ...],
    all_nodes: bool,
    all_bodies: bool,
    sample: int,
    repair: bool,
) -> None:
    """Check STORE: every stored block and label index decodes, and at every leaf node
    (or --node/--all-nodes) pyramid levels are the downsampling of scale 0, the extents
    cover every stored block, label indexes equal a recount of the blocks (a sample of
    bodies, or --all), maxlabel and the label counter lie above every stored id.

    --repair rebuilds what is derived (pyramid, extents, label indexes, maxlabel, the
    label counter), one transaction per node and instance, at open nodes only. Prints a
    report; exits with status 1 if problems remain.
    """
    from voxhub.service.doctor import run_doctor

    with opened(store) as hub:
        service = getattr(hub, "service", None)
        if not isinstance(service, Service):
            raise InvalidRequest(f"voxhub doctor checks a store, not a server: {store}")
        roots = [hub.repo(r).root for r in repos]
        uuids = [node_of(hub, r).uuid for r in nodes]
        report = run_doctor(
            service,
            repos=roots,
            nodes=uuids,
            instances=instances,
            all_nodes=all_nodes,
            options=CheckOptions(all_bodies=all_bodies, sample=sample),
            repair=repair,
        )
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)
