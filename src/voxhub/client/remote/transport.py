"""One pooled HTTP connection set to a voxhub server, with retries and typed errors.

Reads (GET, HEAD) are retried on connection failures (refused, reset, cut short), with
exponential backoff, because repeating them cannot change anything. Other requests are
retried only when the connection could not be opened at all, i.e. when the server
certainly never saw them. Every request carries DVID's ``u=`` and ``app=`` so the
server's audit lines name the user and this client.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterator
from typing import Any

import httpx

from voxhub.client.remote.errors import error_from_response
from voxhub.errors import StorageError

APP = "voxhub-python"
#: attempts for an idempotent request (the first try included)
ATTEMPTS = 4
#: first backoff (seconds); doubled after each failed attempt
BACKOFF = 0.05


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


def _chunks(content: bytes | memoryview, size: int = 1 << 22) -> Iterator[bytes]:
    """The body in slices that share its memory (an explicit Content-Length keeps httpx
    from chunked encoding): a 128 MiB array is sent without being copied to ``bytes``."""
    view = memoryview(content).cast("B")
    for start in range(0, len(view), size):
        yield view[start : start + size]  # type: ignore[misc]


class Transport:
    """``request()`` returning a successful :class:`httpx.Response` or raising a
    :class:`~voxhub.errors.VoxhubError` (``StorageError`` if the server is unreachable)."""

    def __init__(
        self,
        base_url: str,
        *,
        connections: int = 8,
        timeout: float = 300.0,
        user: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.identity = {"u": user or _user(), "app": APP}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = client or httpx.Client(
            base_url=self.base_url,
            limits=limits,
            timeout=httpx.Timeout(timeout, connect=10.0),
        )

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | memoryview | None = None,
    ) -> httpx.Response:
        """Send one request; raise the server's error as a typed exception."""
        query = {**self.identity, **(params or {})}
        idempotent = method in ("GET", "HEAD")
        what = f"{method} {self.base_url}{path}"
        delay = BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self.client.request(
                    method,
                    path,
                    params=query,
                    json=json,
                    content=None if content is None else _chunks(content),
                    headers=None if content is None else {"Content-Length": str(len(content))},
                )
            except httpx.ConnectError as e:
                error: httpx.TransportError = e
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError) as e:
                if not idempotent:
                    raise StorageError(f"{what} failed mid-request: {e}") from e
                error = e
            except httpx.TimeoutException as e:
                raise StorageError(f"{what} timed out: {e}") from e
            else:
                if response.is_success:
                    return response
                raise error_from_response(response.status_code, response.content, what)
            if attempt == ATTEMPTS:
                raise StorageError(
                    f"{what}: server unreachable after {ATTEMPTS} attempts: {error}"
                ) from error
            time.sleep(delay)  # backoff before reconnecting, not test synchronisation
            delay *= 2
        raise AssertionError("unreachable")

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).json()

    def post_json(self, path: str, body: Any, params: dict[str, Any] | None = None) -> Any:
        response = self.request("POST", path, params=params, json=body)
        return response.json() if response.content else None
