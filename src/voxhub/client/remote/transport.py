"""Requests to a voxhub server: pooled connections, retries and typed errors.

Reads (GET, HEAD) are retried on connection failures (refused, reset, cut short), with
exponential backoff, because repeating them cannot change anything. Other requests are
retried only when the connection could not be opened at all, i.e. when the server
certainly never saw them. Every request carries DVID's ``u=`` and ``app=`` so the
server's audit lines name the user and this client. A 503 that carries ``Retry-After``
(the server's busy answer, given before it looked at the request) is retried for every
method after the delay it asks for, capped, up to :data:`BUSY_ATTEMPTS` times. With a
token, every request carries ``Authorization: Bearer <token>`` (and the server records the
token's user).
"""

from __future__ import annotations

import getpass
import http.client
import json as jsonlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from voxhub.client.remote.errors import error_from_response
from voxhub.client.remote.pool import ConnectionPool, Endpoint
from voxhub.errors import ReadOnlyError, StorageError, VoxhubError

APP = "voxhub-python"
#: attempts for an idempotent request (the first try included)
ATTEMPTS = 4
#: first backoff (seconds); doubled after each failed attempt
BACKOFF = 0.05
_IDEMPOTENT = frozenset({"GET", "HEAD"})
#: attempts for a request the server answers 503 + Retry-After (the first try included)
BUSY_ATTEMPTS = 6
#: longest wait (seconds) this client honours from one ``Retry-After``
MAX_RETRY_AFTER = 10.0


def _wait(seconds: float) -> None:
    """Pause before a retry (one function, so tests can see the waits the client asks)."""
    time.sleep(seconds)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class Reply:
    """An answer: status, content type and the whole body."""

    status: int
    content_type: str
    content: bytes
    #: seconds the server asked to wait before retrying (``Retry-After``), if it did
    retry_after: float | None = None
    #: the response headers, names lower-cased
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return jsonlib.loads(self.content) if self.content else None


class _ConnectFailed(Exception):
    """The connection could not be opened: the server never saw the request."""


class Transport:
    """``request()`` returns a :class:`Reply` or raises a
    :class:`~voxhub.errors.VoxhubError` (``StorageError`` if the server is unreachable)."""

    def __init__(
        self,
        base_url: str,
        *,
        connections: int = 8,
        timeout: float = 300.0,
        user: str | None = None,
        read_only: bool = False,
        token: str | None = None,
    ) -> None:
        self.read_only = read_only
        # sent on every request; the server records the token's user, not ``u=``
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.endpoint = Endpoint.parse(base_url)
        self.base_url = self.endpoint.url
        self.identity = {"u": user or _user(), "app": APP}
        self.pool = ConnectionPool(self.endpoint, size=connections, timeout=timeout)

    def close(self) -> None:
        self.pool.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | memoryview | Iterable[bytes] | None = None,
        into: memoryview | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request; raise the server's error as a typed exception.

        With ``into``, a successful body is read straight into that buffer (it must have
        exactly the body's length) and :attr:`Reply.content` is empty. ``content`` may be
        an iterable of pieces, sent with chunked transfer encoding as it is read (such a
        request is retried only if the connection could not be opened, before any piece
        was read).
        """
        if self.read_only and method not in _IDEMPOTENT:
            raise ReadOnlyError(
                f"{method} {self.base_url}{path} refused: this client was opened with "
                "mode='r'; open it with mode='r+' or 'a' to write"
            )
        url = f"{self.endpoint.prefix}{path}?{urlencode({**self.identity, **(params or {})})}"
        headers = {**self._auth, **(headers or {})}
        body: bytes | memoryview | Iterable[bytes] | None = content
        if json is not None:
            body = jsonlib.dumps(json).encode()
            headers["Content-Type"] = "application/json"
        what = f"{method} {self.base_url}{path}"
        # a streamed body may be partly read when the server answers: never sent twice
        replayable = body is None or isinstance(body, bytes | memoryview)
        delay, busy = BACKOFF, 0
        attempt = 0
        while attempt < ATTEMPTS:
            attempt += 1
            try:
                reply = self._once(method, url, body, headers, into, what)
            except _ConnectFailed as e:
                error: BaseException = e.__cause__ or e
            except (OSError, http.client.HTTPException) as e:
                if isinstance(e, VoxhubError):  # ours (some are OSErrors): not a network fault
                    raise
                if isinstance(e, TimeoutError):
                    raise StorageError(f"{what} timed out: {e}") from e
                if method not in _IDEMPOTENT:
                    raise StorageError(
                        f"{what} failed mid-request ({e!r}); it may or may not have been applied"
                    ) from e
                error = e
            else:  # raised outside the try: some voxhub errors are OSErrors too
                if reply.status == 503 and reply.retry_after is not None:
                    busy += 1
                    if (
                        busy < BUSY_ATTEMPTS and replayable
                    ):  # refused unseen: safe to repeat any method
                        _wait(min(reply.retry_after, MAX_RETRY_AFTER))
                        attempt -= 1  # a busy answer is not a network failure
                        continue
                if not 200 <= reply.status < 300:
                    raise error_from_response(reply.status, reply.content, what)
                return reply
            if attempt == ATTEMPTS:
                raise StorageError(
                    f"{what}: server unreachable after {ATTEMPTS} attempts: {error!r}"
                ) from error
            _wait(delay)  # backoff before reconnecting, not test synchronisation
            delay *= 2
        raise AssertionError("unreachable")

    def _once(
        self,
        method: str,
        url: str,
        body: bytes | memoryview | Iterable[bytes] | None,
        headers: dict[str, str],
        into: memoryview | None,
        what: str,
    ) -> Reply:
        conn, reused = self.pool.acquire()
        if not reused:
            try:
                conn.connect()
            except OSError as e:
                conn.close()
                raise _ConnectFailed(str(e)) from e
        try:
            conn.request(method, url, body=body, headers=headers)
            response = conn.getresponse()
            status = response.status
            ok = 200 <= status < 300
            if ok and into is not None:
                _read_exactly(response, into, what)
                data = b""
            else:
                data = response.read()
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            self.pool.release(conn)
        retry_after = _seconds(response.getheader("Retry-After")) if status == 503 else None
        got = {name.lower(): value for name, value in response.getheaders()}
        return Reply(status, response.getheader("Content-Type", ""), data, retry_after, got)

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).json()

    def post_json(self, path: str, body: Any, params: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, params=params, json=body).json()


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delay form; an HTTP date counts as absent)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < float("inf") else None


def _read_exactly(response: http.client.HTTPResponse, into: memoryview, what: str) -> None:
    declared = response.getheader("Content-Length")
    if declared is not None and int(declared) != len(into):
        raise StorageError(f"{what}: server sent {declared} bytes, expected {len(into)}")
    filled = 0
    while filled < len(into):
        n = response.readinto(into[filled:])
        if not n:
            raise http.client.IncompleteRead(bytes(0), len(into) - filled)
        filled += n
    if response.read(1):
        raise StorageError(f"{what}: server sent more than the {len(into)} bytes expected")
