"""``voxhub``: the command-line entry point; sub-commands live in their own modules."""

from __future__ import annotations

import click

from voxhub.cli.serve import serve


@click.group()
@click.version_option(package_name="voxhub")
def cli() -> None:
    """voxhub: a versioned image service for connectomics."""


cli.add_command(serve)


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
