"""``voxhub serve`` options for browsers, hosts, limits and timeouts.

They reach the worker processes as ``VOXHUB_*`` environment variables (uvicorn's factory
mode builds the app in each worker, see :func:`voxhub.server.app.app_from_env`) and as
uvicorn settings (idle keep-alive timeout, the protocol with the header deadline).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from voxhub.server.cors import ALLOW_ORIGINS_ENV, OriginPolicy
from voxhub.server.hosts import ALLOWED_HOSTS_ENV, WILDCARD_BINDS, HostPolicy
from voxhub.server.limits import ServerLimits
from voxhub.server.protocol import DEFAULT_HEADER_TIMEOUT, HEADER_TIMEOUT_ENV, HTTP_PROTOCOL

F = TypeVar("F", bound=Callable[..., Any])
_DEFAULTS = ServerLimits()
_SECONDS = click.FloatRange(min=0, min_open=True)


def _checked(parse: Callable[[tuple[str, ...]], object]) -> Callable[..., tuple[str, ...]]:
    """A click callback refusing values ``parse`` refuses (before anything starts)."""

    def check(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> Any:
        try:
            parse(values)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
        return values

    return check


def guard_options(command: F) -> F:
    """Add the options of this module to ``command`` (they arrive as keyword arguments)."""
    options = [
        click.option(
            "--allow-origin",
            "allow_origins",
            multiple=True,
            metavar="URL",
            callback=_checked(OriginPolicy.of),
            help="A web origin (https://host[:port]) whose pages may write without a "
            "token, e.g. your own viewer; repeatable. Other origins may only read.",
        ),
        click.option(
            "--allowed-host",
            "allowed_hosts",
            multiple=True,
            metavar="NAME",
            callback=_checked(HostPolicy.of),
            help="A host name clients use to reach this server (*.domain for its "
            "subdomains, * for any); repeatable. Loopback names, IP addresses and --host "
            "are always served; other Host headers get 421 (DNS rebinding guard).",
        ),
        click.option(
            "--body-timeout",
            type=_SECONDS,
            default=_DEFAULTS.body_timeout,
            show_default=True,
            help="Seconds to wait for the next piece of a request body (408 after).",
        ),
        click.option(
            "--header-timeout",
            type=_SECONDS,
            default=DEFAULT_HEADER_TIMEOUT,
            show_default=True,
            help="Seconds a client has to send a request's headers (connection closed after).",
        ),
        click.option(
            "--keep-alive-timeout",
            type=click.IntRange(1),
            default=5,
            show_default=True,
            help="Seconds an idle connection is kept open between requests.",
        ),
        click.option(
            "--max-json-bytes",
            type=click.IntRange(1),
            default=_DEFAULTS.max_json_bytes,
            show_default=True,
            help="Largest JSON request body; larger ones get 413.",
        ),
        click.option(
            "--large-request-bytes",
            type=click.IntRange(1),
            default=_DEFAULTS.large_request_bytes,
            show_default=True,
            help="A body or cutout this large or larger counts as a large request.",
        ),
        click.option(
            "--max-large-requests",
            type=click.IntRange(1),
            default=_DEFAULTS.max_large_requests,
            show_default=True,
            help="Large requests served at once per worker; more get 503 + Retry-After.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def apply_guard_options(host: str, options: dict[str, Any]) -> dict[str, Any]:
    """Export this module's ``options`` (all of ``voxhub serve``'s keyword options) to
    the workers; the settings for ``uvicorn.run``."""
    limits = ServerLimits(
        body_timeout=options["body_timeout"],
        max_json_bytes=options["max_json_bytes"],
        large_request_bytes=options["large_request_bytes"],
        max_large_requests=options["max_large_requests"],
    )
    os.environ.update(limits.to_env())
    os.environ[ALLOW_ORIGINS_ENV] = ",".join(options["allow_origins"])
    os.environ[ALLOWED_HOSTS_ENV] = ",".join((host, *options["allowed_hosts"]))
    os.environ[HEADER_TIMEOUT_ENV] = str(options["header_timeout"])
    if host in WILDCARD_BINDS and not options["allowed_hosts"]:
        click.echo(
            f"voxhub serve: clients reaching {host} by a host name get 421 unless it is "
            "given with --allowed-host NAME (IP addresses and localhost are served)",
            err=True,
        )
    return {"timeout_keep_alive": options["keep_alive_timeout"], "http": HTTP_PROTOCOL}
