"""JSON request bodies: bounded in size, parsed off the event loop when large.

Parsing a few megabytes of JSON (a 200k-point ``labels`` request) takes the GIL for a
second or more; on the event loop that would stall every other request. Bodies over
:data:`INLINE_JSON_BYTES` are therefore parsed — and converted by the route's
``convert`` — in the thread pool; small ones stay inline, where a thread hop would cost
more than the parse. The size limit is the request's budget's ``max_json_bytes``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire.budget import max_json_bytes
from voxhub.errors import InvalidRequest

T = TypeVar("T")
#: bodies up to this size are parsed on the event loop
INLINE_JSON_BYTES = 64 << 10


def _loads(raw: bytes) -> Any:
    return json.loads(raw)


def parse_json(raw: bytes, what: str) -> Any:
    """``raw`` parsed as JSON, or :class:`InvalidRequest` naming ``what``."""
    try:
        return _loads(raw)
    except RecursionError:
        raise InvalidRequest(f"{what} is nested too deeply") from None
    except ValueError as e:
        raise InvalidRequest(f"{what} is not valid JSON: {e}") from None


async def read_json(
    request: Request,
    what: str,
    convert: Callable[[Any], T],
    *,
    check: Callable[[bytes], None] | None = None,
) -> T:
    """The body read within the JSON limit, parsed and passed through ``convert``.

    ``check`` sees the raw bytes first (e.g. a hash). An empty body parses as ``None``.
    """
    raw = await bodies.read_body(request, max_json_bytes(request), what)
    if check is not None:
        check(raw)

    def run() -> T:
        return convert(parse_json(raw, what) if raw.strip() else None)

    if len(raw) <= INLINE_JSON_BYTES:
        return run()
    return await run_in_threadpool(run)
