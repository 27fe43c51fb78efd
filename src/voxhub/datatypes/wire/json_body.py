"""JSON request bodies: bounded in size, parsed off the event loop when large.

Parsing a few megabytes of JSON (a 200k-point ``labels`` request) takes the GIL for a
second or more; on the event loop that would stall every other request. Bodies over
:data:`INLINE_JSON_BYTES` are therefore parsed — and converted by the route's
``convert`` — in the thread pool; small ones stay inline, where a thread hop would cost
more than the parse. The size limit is the request's budget's ``max_json_bytes``;
parsing itself is :func:`~voxhub.datatypes.wire.json_input.parse_json` (nesting, huge
integers and other hostile input answer 400).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from voxhub.datatypes.wire import bodies
from voxhub.datatypes.wire.budget import max_json_bytes
from voxhub.datatypes.wire.gc_pause import gc_paused
from voxhub.datatypes.wire.json_input import parse_json

T = TypeVar("T")
#: bodies up to this size are parsed on the event loop
INLINE_JSON_BYTES = 64 << 10


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

    def run_paused() -> T:
        with gc_paused():  # see gc_pause: collections would rescan the growing value
            return run()

    return await run_in_threadpool(run_paused)
