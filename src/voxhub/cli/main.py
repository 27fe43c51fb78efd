"""``voxhub``: the command-line entry point; sub-commands live in their own modules."""

from __future__ import annotations

import click

from voxhub.cli.repo_cmds import repo
from voxhub.cli.serve import serve
from voxhub.cli.volume_cmds import export_cmd, import_cmd, volume


@click.group()
@click.version_option(package_name="voxhub")
def cli() -> None:
    """voxhub: a versioned image service for connectomics."""


cli.add_command(serve)
cli.add_command(repo)
cli.add_command(volume)
cli.add_command(import_cmd)
cli.add_command(export_cmd)


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
