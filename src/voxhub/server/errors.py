"""The one table from voxhub's error hierarchy to HTTP statuses, and the JSON error body.

Every error response is ``{"error": message, "type": class name}`` (plus ``"conflicts"``
for a merge conflict), so the remote client can raise the same class again. DVID answers
400 for nearly everything; we answer 404 for unknown repos, nodes and instances, 409 for
writes to committed nodes and merge conflicts, 413 for requests over the limit, 401 when
a user is needed (no or bad token) and 403 when the user's roles do not allow it.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from voxhub.errors import (
    CapabilityError,
    CodecError,
    Conflict,
    Forbidden,
    InvalidRequest,
    MergeConflict,
    NotFound,
    ReadOnlyError,
    StorageError,
    TooLarge,
    Unauthorized,
    VersionLocked,
    VoxhubError,
)

#: most specific class first: the first ``isinstance`` match wins.
STATUS_TABLE: tuple[tuple[type[VoxhubError], int], ...] = (
    (NotFound, 404),
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
    status = status_for(exc, request.method)
    # RFC 6750: a 401 names the scheme, so clients (neuroglancer) know to send a token.
    headers = {"WWW-Authenticate": 'Bearer realm="voxhub"'} if status == 401 else None
    return JSONResponse(error_body(exc), status_code=status, headers=headers)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Unmatched routes and wrong methods, with the same JSON body as our own errors."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no endpoint {request.method} {request.url.path}; see /api/help"
    else:
        message = f"{exc.detail} ({request.method} {request.url.path})"
    return JSONResponse(
        {"error": message, "type": "HTTPError"},
        status_code=exc.status_code,
        headers=exc.headers,
    )


EXCEPTION_HANDLERS = {
    VoxhubError: voxhub_error_handler,
    HTTPException: http_error_handler,
}
