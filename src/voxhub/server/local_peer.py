"""Whether a view answer goes to a client on this machine, where compressing it is waste.

HTTP compression saves network bytes at the price of CPU on both ends. A client on the
same machine (neuroglancer, tensorstore or cloud-volume next to ``voxhub serve`` on a
workstation) has no network between them: a zstd'd label chunk costs it ~0.1-0.2 ms to
unpack and the server nothing it would not spend sending the plain bytes over loopback
(measured with ``bench/views.py``: 200 single 64³ label reads took 1.05 against 1.26 ms
each). So a request straight from a loopback address gets whole answers as they are,
whatever its ``Accept-Encoding`` (a server may always answer ``identity``).

"Straight" means no forwarding header: a reverse proxy on this machine that says it
forwards (``X-Forwarded-For``, ``Forwarded``, ``Via``; the README's nginx example sets the
first, and uvicorn then also reports the real client's address) is treated as the remote
client it forwards for. A proxy that forwards silently, or an operator who wants
compression anyway, turns this off with ``voxhub serve --compress-loopback``
(``app.state.compress_loopback``).
"""

from __future__ import annotations

import functools
import ipaddress

from starlette.types import Scope

_FORWARDING = frozenset({b"x-forwarded-for", b"forwarded", b"via"})


@functools.lru_cache(maxsize=256)
def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback IP address (``127.0.0.0/8``, ``::1``, and IPv4's
    loopback mapped into IPv6); names and malformed text are not.

    >>> is_loopback("127.0.0.1"), is_loopback("::ffff:127.0.0.2"), is_loopback("10.0.0.1")
    (True, True, False)
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def sent_locally(scope: Scope) -> bool:
    """Whether the request of ``scope`` comes straight from this machine (a loopback
    peer, no forwarding header) and the app leaves such answers uncompressed."""
    client = scope.get("client")
    if not client or not is_loopback(str(client[0])):
        return False
    if any(name in _FORWARDING for name, _ in scope.get("headers", ())):
        return False
    state = getattr(scope.get("app"), "state", None)
    return not getattr(state, "compress_loopback", False)
