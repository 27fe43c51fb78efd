"""The one table from voxhub's error hierarchy to HTTP statuses, and the JSON error body.

Every error response is ``{"error": message, "type": class name}`` (plus ``"conflicts"``
for a merge conflict), so the remote client can raise the same class again. DVID answers
400 for nearly everything; we answer 404 for unknown repos, nodes and instances, 409 for
writes to committed nodes and merge conflicts, 413 for requests over the limit, 401 when
a user is needed (no or bad token) and 403 when the user's roles do not allow it.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxhub.errors import (
    CapabilityError,
    CodecError,
    Conflict,
    CrossSiteRefused,
    Forbidden,
    HostNotAllowed,
    InvalidRequest,
    MergeConflict,
    NotFound,
    Overloaded,
    ReadOnlyError,
    RequestTimeout,
    StorageError,
    TooLarge,
    Unauthorized,
    VersionLocked,
    VoxhubError,
)
from voxhub.server.observe import note_route, request_record

#: most specific class first: the first ``isinstance`` match wins.
STATUS_TABLE: tuple[tuple[type[VoxhubError], int], ...] = (
    (NotFound, 404),
    (CrossSiteRefused, 403),
    (HostNotAllowed, 421),
    (RequestTimeout, 408),
    (Overloaded, 503),
    (VersionLocked, 409),
    (MergeConflict, 409),
    (Conflict, 409),
    (TooLarge, 413),
    (InvalidRequest, 400),
    (ReadOnlyError, 403),
    (Unauthorized, 401),
    (Forbidden, 403),
    (CodecError, 400),  # 500 on reads, see status_for
    (StorageError, 503),
    (CapabilityError, 501),
)

_READ_METHODS = frozenset({"GET", "HEAD"})


def status_for(error: VoxhubError, method: str = "GET") -> int:
    """The HTTP status of ``error``. A codec error on a read is the server's fault (500);
    on a write it is the client's body (400)."""
    if isinstance(error, CodecError):
        return 500 if method.upper() in _READ_METHODS else 400
    for cls, status in STATUS_TABLE:
        if isinstance(error, cls):
            return status
    return 500


def error_body(error: VoxhubError) -> dict[str, Any]:
    """The JSON body describing ``error``."""
    body: dict[str, Any] = {"error": str(error), "type": type(error).__name__}
    if isinstance(error, MergeConflict):
        body["conflicts"] = error.report
    return body


async def voxhub_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for :class:`VoxhubError`."""
    assert isinstance(exc, VoxhubError)
    note_route(request.scope)  # a refusal before the route's app ran counts under its route
    return error_response(exc, request.method)


def error_response(error: VoxhubError, method: str = "GET") -> Response:
    """The JSON response of ``error``, with the headers its status calls for."""
    status = status_for(error, method)
    headers = {}
    if status == 401:  # RFC 6750: name the scheme, so clients (neuroglancer) send a token
        headers["WWW-Authenticate"] = 'Bearer realm="voxhub"'
    if isinstance(error, Overloaded):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, RequestTimeout | TooLarge | Overloaded):
        # the body may be unread or half read: end the connection rather than drain it
        headers["Connection"] = "close"
    return JSONResponse(error_body(error), status_code=status, headers=headers or None)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Unmatched routes and wrong methods, with the same JSON body as our own errors."""
    assert isinstance(exc, HTTPException)
    note_route(request.scope)  # a 405 counts under its route
    if exc.status_code == 404:
        message = f"no endpoint {request.method} {request.url.path}; see /api/help"
    else:
        message = f"{exc.detail} ({request.method} {request.url.path})"
    return JSONResponse(
        {"error": message, "type": "HTTPError"},
        status_code=exc.status_code,
        headers=exc.headers,
    )


_log = logging.getLogger("voxhub.server")


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    """Defence in depth for a bug: an exception no parser turned into a
    :class:`VoxhubError` is answered as a JSON 500 naming no internals, and logged with
    the request it came from. (Starlette re-raises it afterwards, so the ASGI server logs
    the traceback once more; hostile input must never get here: every parser raises a
    typed error, and ``tests/fuzz`` asserts no 5xx.)"""
    record = request_record(request.scope)
    _log.error(
        "unhandled %s on %s %s (request id %s)",
        type(exc).__name__,
        request.method,
        request.url.path,
        record.request_id if record else "-",
    )
    message = f"internal error on {request.method} {request.url.path}"
    return JSONResponse({"error": message, "type": "InternalError"}, status_code=500)


EXCEPTION_HANDLERS = {
    VoxhubError: voxhub_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
