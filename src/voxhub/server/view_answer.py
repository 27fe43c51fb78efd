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

import google_crc32c
from isal import isal_zlib
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from voxhub.datatypes.wire.byte_ranges import Unsatisfiable, parse_range_header

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class HasHeaders(Protocol):
    """What a view answer reads of its request: the headers, and the ASGI scope for the
    peer's address (of a Starlette ``Request``, or of a
    :class:`~voxhub.server.view_request.ViewRequest`)."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def scope(self) -> Scope: ...


def strong_etag(body: bytes) -> str:
    """A strong entity tag of ``body``: its length and two independent CRCs of it
    (ISA-L's CRC-32, google-crc32c's CRC-32C), 64 bits that tell any two versions of a
    chunk apart unless someone writes data built to collide (which would only keep their
    own stale copy in a cache). An open node's chunk is tagged each time it is made:
    SHA-256 took 0.15 ms of a 256 KiB chunk's 0.7 ms, these take 15 µs."""
    return f'"{len(body):x}-{isal_zlib.crc32(body):08x}{google_crc32c.value(body):08x}"'


#: key tags remembered (a dictionary lookup instead of a repr and a hash per request)
KEY_TAGS_KEPT = 16384
_KEY_TAGS: dict[tuple[Hashable, ...], str] = {}


def key_etag(*parts: Hashable) -> str:
    """A strong entity tag of an answer that ``parts`` (a view cache key, and what else
    tells its representations apart) fix for ever: a committed node's chunk is sent
    without hashing its bytes."""
    tag = _KEY_TAGS.get(parts)
    if tag is None:
        tag = f'"{hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()}"'
        if len(_KEY_TAGS) >= KEY_TAGS_KEPT:
            _KEY_TAGS.clear()  # whatever is asked again is hashed again
        _KEY_TAGS[parts] = tag
    return tag


def _matches_any(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header lists ``etag`` (weak comparison, RFC 9110)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


class _Answer(Response):
    """A ``Response`` whose header list is built here, in the order and spelling
    Starlette's ``Response(body, status, headers, media_type)`` gives (those headers,
    then ``content-length`` but on a 304, then ``content-type`` when there is a body),
    without its per-header dictionary work: a view answers thousands of small files."""

    def __init__(self, status: int, body: bytes, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.body = body
        self.raw_headers = raw_headers
        self.background = None


_CACHE_CONTROL = {True: IMMUTABLE.encode("latin-1"), False: REVALIDATE.encode("latin-1")}


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
    common = [
        (b"etag", tag.encode("latin-1")),
        (b"cache-control", _CACHE_CONTROL[committed]),
        (b"accept-ranges", b"bytes"),
    ]
    if headers:
        common += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    asked = request.headers
    if _matches_any(asked.get("if-none-match"), tag):
        return _Answer(304, b"", common)
    wanted_header = asked.get("range")
    if_range = asked.get("if-range")
    if media_type.startswith("text/") and "charset=" not in media_type.lower():
        media_type += "; charset=utf-8"  # as Starlette's Response does
    typed = (b"content-type", media_type.encode("latin-1"))
    if wanted_header and (if_range is None or if_range.strip() == tag):
        try:
            wanted = parse_range_header(wanted_header, len(body))
        except Unsatisfiable as e:
            named = {k.decode("latin-1"): v.decode("latin-1") for k, v in common}
            return JSONResponse(
                {"error": str(e), "type": "InvalidRequest"},
                status_code=416,
                headers={**named, "Content-Range": f"bytes */{len(body)}"},
            )
        if wanted is not None:
            part = body[wanted.start : wanted.stop]
            ranged = (b"content-range", wanted.content_range(len(body)).encode("latin-1"))
            length = (b"content-length", str(len(part)).encode("latin-1"))
            return _Answer(206, part, [*common, ranged, length, typed])
    return _Answer(200, body, [*common, (b"content-length", str(len(body)).encode()), typed])
