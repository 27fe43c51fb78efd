"""DVID's boolean query parameters (``?supervoxels=true``, ``?tar=1``)."""

from __future__ import annotations

from starlette.requests import Request

from voxhub.errors import InvalidRequest

_FLAGS = {"true": True, "1": True, "false": False, "0": False, "": False}


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter (``true``/``false``/``1``/``0``; absent is false)."""
    text = request.query_params.get(name, "")
    value = _FLAGS.get(text.lower())
    if value is None:
        raise InvalidRequest(f"query parameter {name}={text!r} must be true or false")
    return value
