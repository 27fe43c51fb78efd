"""Server error bodies back into voxhub's typed exceptions.

The server answers every error with ``{"error": message, "type": class name}`` (see
:mod:`voxhub.server.errors`); the client raises that class with that message, so code
written against an embedded hub catches the same exceptions remotely. Bodies from
something else (a proxy, an older server) fall back on the status code.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from voxhub import errors
from voxhub.errors import (
    CapabilityError,
    Conflict,
    Forbidden,
    InvalidRequest,
    MergeConflict,
    NotFound,
    StorageError,
    TooLarge,
    Unauthorized,
    VoxhubError,
)

#: class name → class, for every concrete error the server may name.
ERROR_CLASSES: dict[str, type[VoxhubError]] = {
    name: cls
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, VoxhubError)
}

#: when the body names no known class.
STATUS_CLASSES: dict[int, type[VoxhubError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: CapabilityError,
    409: Conflict,
    413: TooLarge,
    501: CapabilityError,
    503: StorageError,
}


def error_from_response(status: int, body: bytes, what: str) -> VoxhubError:
    """The exception for an error answer ``status``/``body`` to the request ``what``."""
    parsed: Any = None
    with contextlib.suppress(ValueError):
        parsed = json.loads(body)
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        message: str = parsed["error"]
        name = parsed.get("type")
        if name == MergeConflict.__name__:
            return MergeConflict(message, _report(parsed.get("conflicts")))
        cls = ERROR_CLASSES.get(name) if isinstance(name, str) else None
        if cls is not None and cls is not MergeConflict:
            return cls(message)
    else:
        text = body.decode("utf-8", "replace").strip()[:500]
        message = f"{what}: HTTP {status}" + (f": {text}" if text else "")
    fallback = STATUS_CLASSES.get(status)
    if fallback is None:
        fallback = StorageError if status >= 500 else InvalidRequest
    return fallback(message)


def _report(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        return {}
    return {str(k): [str(x) for x in v] for k, v in value.items() if isinstance(v, list)}
