"""Bounded requests: body size, body read timeout, and few large requests at a time.

:class:`RequestGuard` (ASGI middleware) applies, per request:

* the body limit: a ``Content-Length`` over ``max_request_bytes`` is 413 before anything
  is read, and a streamed body is cut off with 413 as soon as it passes the limit;
* the body read timeout: a client that sends nothing for ``body_timeout`` seconds while
  its body is unfinished gets 408 (uvicorn would otherwise wait for it forever, holding
  the connection and whatever the route had read so far);
* admission of large requests: at most ``max_large_requests`` requests of
  ``large_request_bytes`` or more (a declared body, or a cutout a route is about to
  allocate, see :mod:`voxhub.datatypes.wire.budget`) run at once per worker process;
  one more is answered 503 with ``Retry-After`` instead of queuing memory.

Memory per request therefore stays within ``max_request_bytes`` (plus its encoding),
and per process within about ``max_large_requests`` of them. Timeouts before a request's
headers are complete and between requests are uvicorn's (see ``voxhub serve``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxhub.datatypes.wire.bodies import check_size
from voxhub.datatypes.wire.budget import BUDGET_KEY, DEFAULT_MAX_JSON_BYTES
from voxhub.errors import Overloaded, RequestTimeout, TooLarge, VoxhubError
from voxhub.server.errors import error_response

#: environment variables of the uvicorn factory (``voxhub serve`` sets them)
BODY_TIMEOUT_ENV = "VOXHUB_BODY_TIMEOUT"
MAX_JSON_BYTES_ENV = "VOXHUB_MAX_JSON_BYTES"
MAX_LARGE_REQUESTS_ENV = "VOXHUB_MAX_LARGE_REQUESTS"
LARGE_REQUEST_BYTES_ENV = "VOXHUB_LARGE_REQUEST_BYTES"


@dataclass(frozen=True)
class ServerLimits:
    """Time and memory bounds an operator may tune (sizes in bytes, times in seconds)."""

    #: longest wait for the next piece of an unfinished request body (408 after)
    body_timeout: float = 60.0
    #: largest JSON body (parsed JSON costs many times its size in Python objects)
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES
    #: a body or cutout of this size or more is "large"
    large_request_bytes: int = 64 << 20
    #: large requests served at once per worker process (503 + Retry-After beyond)
    max_large_requests: int = 4
    #: seconds a client refused as overloaded is asked to wait
    retry_after: int = 2

    def __post_init__(self) -> None:
        for name in ("body_timeout", "max_json_bytes", "large_request_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_large_requests < 1:
            raise ValueError(f"max_large_requests must be ≥ 1, got {self.max_large_requests}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServerLimits:
        """The limits named by the ``VOXHUB_*`` variables (defaults where unset)."""
        default = cls()
        return cls(
            body_timeout=float(environ.get(BODY_TIMEOUT_ENV, default.body_timeout)),
            max_json_bytes=int(environ.get(MAX_JSON_BYTES_ENV, default.max_json_bytes)),
            large_request_bytes=int(
                environ.get(LARGE_REQUEST_BYTES_ENV, default.large_request_bytes)
            ),
            max_large_requests=int(environ.get(MAX_LARGE_REQUESTS_ENV, default.max_large_requests)),
        )

    def to_env(self) -> dict[str, str]:
        """The variables :meth:`from_env` reads back."""
        return {
            BODY_TIMEOUT_ENV: str(self.body_timeout),
            MAX_JSON_BYTES_ENV: str(self.max_json_bytes),
            LARGE_REQUEST_BYTES_ENV: str(self.large_request_bytes),
            MAX_LARGE_REQUESTS_ENV: str(self.max_large_requests),
        }


class LargeRequestSlots:
    """The per-process count of large requests in flight."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.in_flight = 0
        self._lock = threading.Lock()  # budgets may be consulted from worker threads

    def take(self, nbytes: int, what: str) -> None:
        """Take a slot for a large request, or raise :class:`Overloaded`."""
        with self._lock:
            if self.in_flight >= self.limits.max_large_requests:
                raise Overloaded(
                    f"{what} of {nbytes} bytes refused for now: "
                    f"{self.in_flight} large requests (≥ {self.limits.large_request_bytes} "
                    f"bytes) are in flight already; retry in {self.limits.retry_after} s",
                    self.limits.retry_after,
                )
            self.in_flight += 1

    def give_back(self) -> None:
        with self._lock:
            self.in_flight -= 1


class RequestBudget:
    """One request's :class:`~voxhub.datatypes.wire.budget.Budget`: at most one slot."""

    def __init__(self, slots: LargeRequestSlots) -> None:
        self._slots = slots
        self._holding = False

    @property
    def max_json_bytes(self) -> int:
        return self._slots.limits.max_json_bytes

    def reserve(self, nbytes: int, what: str) -> None:
        if self._holding or nbytes < self._slots.limits.large_request_bytes:
            return
        self._slots.take(nbytes, what)
        self._holding = True

    def release(self) -> None:
        if self._holding:
            self._holding = False
            self._slots.give_back()


class RequestGuard:
    """ASGI middleware applying :class:`ServerLimits` and the per-request byte limit."""

    def __init__(self, app: ASGIApp, max_request_bytes: int, limits: ServerLimits) -> None:
        self.app = app
        self.max_bytes = max_request_bytes
        self.limits = limits
        self.slots = LargeRequestSlots(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        budget = RequestBudget(self.slots)
        try:
            length = Headers(scope=scope).get("content-length", "")
            if length.isascii() and length.isdigit():  # ('²'.isdigit() is True)
                declared = int(length) if len(length) <= 20 else 2**64
                check_size(declared, self.max_bytes, "request body")
                budget.reserve(declared, "request body")
        except VoxhubError as refused:  # answered before reading: the body never lands
            await error_response(refused, scope["method"])(scope, receive, send)
            return
        try:
            await self.app(dict(scope, **{BUDGET_KEY: budget}), self._guarded(receive), send)
        finally:
            budget.release()

    def _guarded(self, receive: Receive) -> Receive:
        """``receive`` with the streamed size limit and the read timeout, until the body
        is complete (later calls wait for a disconnect and must not time out)."""
        total = 0
        finished = False
        timeout = self.limits.body_timeout

        async def guarded() -> Message:
            nonlocal total, finished
            if finished:
                return await receive()
            try:
                # asyncio's own timeout: a third of the cost of anyio's per chunk (a 1 GiB
                # body arrives in some 16,000 chunks); the server runs on asyncio
                async with asyncio.timeout(timeout):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"no request body data for {timeout:g} s after {total} bytes; "
                    "send the body without pausing (the server's --body-timeout)"
                ) from None
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.max_bytes:
                    raise TooLarge(
                        f"request body of more than {total} bytes exceeds the server limit "
                        f"of {self.max_bytes} bytes; split the request"
                    )
                finished = not message.get("more_body", False)
            else:
                finished = True
            return message

        return guarded
