"""The one way every read-only view answers (precomputed and Zarr chunks, shards, meshes):
strong validators, caching rules and byte ranges.

* ``ETag``: strong, a hash of the body unless the caller has a cheaper exact tag;
  ``If-None-Match`` (any listed tag, weak or strong, or ``*``) gets a 304.
* ``Cache-Control``: a committed node's answers never change (``immutable``, a year);
  an open node's must be revalidated (``no-cache``).
* ``Range``: one range, ``bytes=a-b``, ``bytes=a-`` or the suffix ``bytes=-n``, is a 206
  with ``Content-Range``; an unsatisfiable one a 416 with ``Content-Range: bytes */N``;
  several ranges or a malformed header get the whole body (RFC 9110 allows ignoring
  them). ``If-Range`` with another tag gets the whole body. Readers of sharded formats
  fetch a shard's index and then its chunks this way, so this is what makes a shard file
  usable at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping
from typing import Protocol

from starlette.responses import JSONResponse, Response

from voxhub.datatypes.wire.byte_ranges import Unsatisfiable, parse_range_header

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class HasHeaders(Protocol):
    """What a view answer reads of its request: the headers (of a Starlette ``Request``,
    or of a :class:`~voxhub.server.view_request.ViewRequest`)."""

    @property
    def headers(self) -> Mapping[str, str]: ...


def strong_etag(body: bytes) -> str:
    """A strong entity tag of ``body`` (SHA-256, which CPUs with SHA extensions hash at
    ~1.5 GB/s: twice blake2b's speed, and a 256 KiB chunk is hashed on every request
    of an open node)."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def key_etag(*parts: Hashable) -> str:
    """A strong entity tag of an answer that ``parts`` (a view cache key, and what else
    tells its representations apart) fix for ever: a committed node's chunk is sent
    without hashing its bytes."""
    return f'"{hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()}"'


def _matches_any(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header lists ``etag`` (weak comparison, RFC 9110)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def view_answer(
    request: HasHeaders,
    body: bytes,
    media_type: str,
    *,
    committed: bool,
    etag: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``body`` as a view answer to ``request``: 200, 206, 304 or 416 (see the module)."""
    tag = etag or strong_etag(body)
    common = {
        "ETag": tag,
        "Cache-Control": IMMUTABLE if committed else REVALIDATE,
        "Accept-Ranges": "bytes",
        **(headers or {}),
    }
    if _matches_any(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=common)
    wanted_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if wanted_header and (if_range is None or if_range.strip() == tag):
        try:
            wanted = parse_range_header(wanted_header, len(body))
        except Unsatisfiable as e:
            return JSONResponse(
                {"error": str(e), "type": "InvalidRequest"},
                status_code=416,
                headers={**common, "Content-Range": f"bytes */{len(body)}"},
            )
        if wanted is not None:
            ranged = {**common, "Content-Range": wanted.content_range(len(body))}
            part = body[wanted.start : wanted.stop]
            return Response(part, status_code=206, media_type=media_type, headers=ranged)
    return Response(body, media_type=media_type, headers=common)
