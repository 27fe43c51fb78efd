"""``voxhub``: the command-line entry point; sub-commands live in their own modules."""

from __future__ import annotations

import importlib

import click

from voxhub.cli.auth_cmds import auth
from voxhub.cli.common import REF_HELP
from voxhub.cli.doctor_cmd import doctor
from voxhub.cli.labels_cmds import labels
from voxhub.cli.repo_cmds import repo
from voxhub.cli.volume_cmds import export_cmd, import_cmd, volume
from voxhub.optional import EXTRA_OF

#: Commands that need an extra, imported when run so the others work without it.
LAZY_COMMANDS = {"serve": ("voxhub.cli.serve", "serve", "Serve a store over HTTP")}


class VoxhubCommands(click.Group):
    """The command group, loading ``serve`` (which needs ``voxhub[server]``) lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in LAZY_COMMANDS:
            return super().get_command(ctx, name)
        module, attr, summary = LAZY_COMMANDS[name]
        try:
            command: click.Command = getattr(importlib.import_module(module), attr)
        except ImportError as e:
            extra = EXTRA_OF.get((e.name or "").split(".")[0])
            if extra is None:
                raise
            return _needs_extra(name, summary, extra)
        return command


def _needs_extra(name: str, summary: str, extra: str) -> click.Command:
    """A stand-in for a command whose extra is not installed: it says how to get it."""
    hint = f"voxhub {name} needs pip install 'voxhub[{extra}]'"

    def refuse() -> None:
        raise click.ClickException(hint)

    return click.Command(
        name,
        callback=refuse,
        help=f"{summary} ({hint}).",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


@click.group(cls=VoxhubCommands, epilog=REF_HELP)
@click.version_option(package_name="voxhub")
def cli() -> None:
    """voxhub: a versioned image service for connectomics.

    Every command but serve takes --store (a directory, lmdb:///dir, s3://bucket/prefix
    or http://host:port), default ./voxhub-store or the VOXHUB_STORE environment
    variable. Foreseeable errors print one "Error: ..." line and exit with status 1
    (2 for a bad argument).
    """


cli.add_command(repo)
cli.add_command(volume)
cli.add_command(labels)
cli.add_command(import_cmd)
cli.add_command(export_cmd)
cli.add_command(auth)
cli.add_command(doctor)


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
