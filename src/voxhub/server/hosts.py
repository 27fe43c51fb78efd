"""The ``Host`` allow-list that defeats DNS rebinding.

A page at ``http://attacker.example`` can make its own name resolve to 127.0.0.1 after
loading, and its requests then reach a server on loopback as "same-origin" — but they
still say ``Host: attacker.example``. So a request is answered only when its ``Host``
names this server: a loopback name (``localhost``), an IP address (a rebound request
always carries the attacker's *name*; an address in ``Host`` cannot be rebound), the
host the server is bound to, or a name the operator allows (``voxhub serve
--allowed-host NAME``, ``*.example.org`` for a domain's subdomains, ``*`` for any).
Anything else gets 421 naming the host, before the request reaches a route.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from voxhub.errors import HostNotAllowed
from voxhub.server.errors import error_response

#: environment variable with extra allowed host names (comma-separated) for the factory
ALLOWED_HOSTS_ENV = "VOXHUB_ALLOWED_HOSTS"
#: names that always mean this machine
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
#: bind addresses that name no host (listening on every interface)
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})


def host_name(host_header: str) -> str:
    """The name or address of a ``Host`` header, port and brackets stripped, lower case.

    >>> host_name("[::1]:8000"), host_name("Example.ORG.:80")
    ('::1', 'example.org')
    """
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def is_ip_address(name: str) -> bool:
    """Whether ``name`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class HostPolicy:
    """Host names answered besides loopback names and IP addresses."""

    names: frozenset[str] = frozenset()
    #: ``*.domain`` patterns, stored as ``.domain``
    suffixes: tuple[str, ...] = ()
    any_host: bool = False

    @classmethod
    def of(cls, hosts: Iterable[str]) -> HostPolicy:
        """The policy allowing ``hosts`` (names, ``*.domain`` or ``*``)."""
        names: set[str] = set()
        suffixes: list[str] = []
        any_host = False
        for raw in hosts:
            host = raw.strip().lower().rstrip(".")
            if host in WILDCARD_BINDS:
                continue  # a bind address, not a name
            if host == "*":
                any_host = True
            elif host.startswith("*."):
                suffixes.append(host[1:])
            elif "*" in host:
                raise ValueError(f"allowed host {raw!r}: only '*' or '*.domain' may use '*'")
            else:
                names.add(host_name(host))
        return cls(frozenset(names), tuple(suffixes), any_host)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> HostPolicy:
        """The policy named by :data:`ALLOWED_HOSTS_ENV` (comma-separated)."""
        return cls.of(environ.get(ALLOWED_HOSTS_ENV, "").split(","))

    def allows(self, host_header: str) -> bool:
        """Whether a request with this ``Host`` header is for this server."""
        name = host_name(host_header)
        if self.any_host or name in LOOPBACK_NAMES or name in self.names:
            return True
        return is_ip_address(name) or any(name.endswith(s) for s in self.suffixes)


#: distinct ``Host`` values whose verdict a :class:`HostVerdicts` remembers (clients name
#: the server in a few ways; one making up names gets each checked, as before)
REMEMBERED_HOSTS = 256


class HostVerdicts:
    """A policy's verdicts on the ``Host`` values seen, remembered for the few values
    clients send (an IP address is checked by parsing it, ~10 µs)."""

    def __init__(self, policy: HostPolicy) -> None:
        self.policy = policy
        self._verdicts: dict[str, bool] = {}

    def allows(self, host: str) -> bool:
        verdict = self._verdicts.get(host)
        if verdict is None:
            verdict = self.policy.allows(host)
            if len(self._verdicts) < REMEMBERED_HOSTS:
                self._verdicts[host] = verdict
        return verdict


class HostCheck:
    """ASGI middleware answering 421 to requests whose ``Host`` the policy refuses."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy
        self.allows = HostVerdicts(policy).allows

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = Headers(scope=scope).get("host")
            # No Host at all (HTTP/1.0) is no browser: rebinding needs one.
            if host is not None and not self.allows(host):
                refused = HostNotAllowed(
                    f"host {host_name(host)!r} is not served here (DNS rebinding guard); "
                    "start the server with --allowed-host NAME to answer to it"
                )
                await error_response(refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)
