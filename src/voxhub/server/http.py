"""Small request helpers shared by the route modules: JSON bodies, fields, audit lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from voxhub.datatypes.wire.context import Caller
from voxhub.datatypes.wire.json_body import read_json
from voxhub.errors import InvalidRequest
from voxhub.versioning import node_log
from voxhub.versioning.dag import MASTER

P = ParamSpec("P")
T = TypeVar("T")


async def blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run store work in the thread pool so the event loop keeps serving."""
    return await run_in_threadpool(fn, *args, **kwargs)


def _json_object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"request body must be a JSON object, got {type(value).__name__}")
    return value


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object (within the JSON size limit); an empty body is
    ``{}``."""
    return await read_json(request, "request body", _json_object)


def str_field(body: dict[str, Any], key: str, default: str = "") -> str:
    """``body[key]`` as a string (400 naming ``key`` if it is not one)."""
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidRequest(f"field {key!r} must be a string, got {value!r}")
    return value


def str_list_field(body: dict[str, Any], key: str) -> list[str]:
    """``body[key]`` as a list of strings (a missing key is ``[]``)."""
    value = body.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"field {key!r} must be a list of strings, got {value!r}")
    return value


def optional_uuid(body: dict[str, Any]) -> str | None:
    """The ``uuid`` a client asks a new node to get, if any."""
    value = str_field(body, "uuid")
    return value or None


def dvid_branch(name: str) -> str:
    """DVID calls master ``""``; we call it ``master``."""
    return name if name else MASTER


def stamp(caller: Caller, text: str) -> str:
    """A log line recording who made a mutation: ``<time> u=<user> app=<app>: text``.

    DVID clients send ``?u=<user>&app=<app>`` on every request; this is where they land.
    """
    return node_log.stamp(caller.user, caller.app, text)


def node_ref(ref: str) -> str:
    """A node reference from a URL: DVID's empty branch (``uuid:``) means master."""
    return f"{ref}{MASTER}" if ref.endswith(":") else ref
