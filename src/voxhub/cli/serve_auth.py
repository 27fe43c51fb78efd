"""``voxhub serve``'s authentication options, and the rule that a server reachable from
other machines does not run without authentication unless told ``--insecure``.

``--auth auto`` (the default) means voxhub tokens when the store has users (``voxhub auth
user add``), else none. OpenID Connect is ``--auth oidc`` with the provider's issuer,
audience and JWKS URL.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import click

from voxhub.service import Service
from voxhub.service.auth import AuthConfig, AuthMode, GroupRole, OidcConfig, read_state

MODES = ["auto", *(m.value for m in AuthMode)]


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    addresses = {str(info[4][0]).split("%")[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def auth_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--auth``, ``--insecure`` and ``--oidc-*`` options of ``voxhub serve``."""
    options = [
        click.option(
            "--auth",
            "auth_mode",
            type=click.Choice(MODES),
            default="auto",
            show_default=True,
            help="Who may do what: tokens (users and tokens kept in the store, see "
            "`voxhub auth`), oidc (an OpenID Connect provider's tokens, and voxhub tokens), "
            "off (anyone may do anything); auto = tokens if the store has users, else off.",
        ),
        click.option(
            "--insecure",
            is_flag=True,
            help="Serve without authentication on an address other machines can reach.",
        ),
        click.option("--oidc-issuer", default="", help="Issuer ('iss') tokens must name."),
        click.option("--oidc-audience", default="", help="Audience ('aud') tokens must name."),
        click.option(
            "--oidc-jwks-url",
            default="",
            help="URL of the provider's signing keys (default: the jwks_uri of the "
            "issuer's /.well-known/openid-configuration).",
        ),
        click.option(
            "--oidc-user-claim",
            default="preferred_username",
            show_default=True,
            help="Claim naming the user.",
        ),
        click.option(
            "--oidc-groups-claim",
            default="groups",
            show_default=True,
            help="Claim listing the user's groups (a dotted path such as realm_access.roles).",
        ),
        click.option(
            "--oidc-role",
            multiple=True,
            metavar="GROUP=REPO:ROLE",
            help="Members of GROUP get ROLE (read, write, admin) in REPO (alias or UUID); "
            "GROUP=admin makes them server admins. Repeat for more.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def auth_config(store: str, host: str, options: dict[str, Any]) -> AuthConfig:
    """The configuration the options ask for; ``ClickException`` when serving ``host``
    without authentication is refused."""
    mode = options["auth_mode"]
    if mode == "auto":
        service = Service.open(store)
        try:
            has_users = bool(read_state(service.store).users)
        finally:
            service.close()
        mode = AuthMode.TOKENS.value if has_users else AuthMode.OFF.value
    oidc = None
    if mode == AuthMode.OIDC.value:
        try:
            oidc = OidcConfig(
                issuer=options["oidc_issuer"],
                audience=options["oidc_audience"],
                jwks_url=options["oidc_jwks_url"],
                user_claim=options["oidc_user_claim"],
                groups_claim=options["oidc_groups_claim"],
                group_roles=tuple(GroupRole.parse(r) for r in options["oidc_role"]),
            )
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--oidc-*") from None
    config = AuthConfig(AuthMode(mode), oidc)
    if not config.enabled and not options["insecure"] and not is_loopback(host):
        raise click.ClickException(
            f"refusing to serve {store} on {host} without authentication: other machines "
            "could change it. Add users (`voxhub auth user add NAME --store ...`) and serve "
            "with --auth tokens (or --auth oidc), or pass --insecure"
        )
    return config
