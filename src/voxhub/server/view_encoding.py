"""HTTP compression and caching of view answers (precomputed ``info``, chunks,
segment properties), on top of :func:`~voxhub.server.view_answer.view_answer`.

**Which answers.** A whole answer (a 200) is compressed when the client accepts a coding
(``Accept-Encoding``) and the body is worth it: JSON and compressed_segmentation chunks
always (a 2 MiB uint64 chunk of a few bodies travels as a few KB, and cseg streams still
shrink ~4x: 29 KB to 7 KB a Voronoi block), a raw image chunk when its stored block
compressed at least :data:`RAW_GZIP_MIN_RATIO` x (padding, sparse or smooth data). Noisy
EM (~1.2x) and the partly filled blocks in between go as they are: compressing costs
~1 ms of a 256 KiB tissue chunk, more than the bytes it saves take to send on a LAN. This
is what static precomputed hosting does too: CloudVolume uploads raw and cseg chunks
gzip'd (``Content-Encoding: gzip``) by default, and object stores send them so to
clients that accept gzip. A request with a ``Range`` header is never encoded: a 206
answers byte positions of the unencoded chunk, the only meaning readers of shard files
give them.

**Not on loopback.** A client on this machine gets whole answers uncompressed
(:mod:`.local_peer`: no network to save, only CPU to spend on both ends) unless the
server runs with ``--compress-loopback``.

**zstd or gzip.** Clients that name zstd get zstd (level :data:`ZSTD_LEVEL`), the others
gzip: tensorstore's curl sends ``Accept-Encoding: deflate, gzip, br, zstd``, browsers
name zstd over https, cloud-volume and aiohttp (zarr-python) say gzip. zstd packs a cseg
chunk a little smaller than ISA-L's gzip and the client unpacks it 2-3x faster (measured:
7.1 against 7.6 KB, ~0.05-0.09 against ~0.17 ms a chunk on this 2-core VM), which counts
when client and server share the cores. Each representation has its own strong ``ETag``
(ending in ``-gzip`` or ``-zstd``) and all say ``Vary: Accept-Encoding``.

A committed node's chunks are decoded once into the cache and sent from there as they
are, and an open node's are kept likewise (:mod:`.precomputed_open`): a chunk whose
stored block is the zstd stream of its bytes is not sent as stored, which would leave the
client a decode on every read (less CPU in all on one machine, measured with
``bench/views.py``).

**Cache.** A committed node's encoded chunks never change: they are kept in the
process's :class:`~voxhub.server.view_cache.ViewCache` (each coded form too, under its
own key), and their tag is a hash of the cache key (node, instance, view, scale, block)
instead of the body, so a cached chunk is sent without hashing it again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import zstandard
from starlette.responses import Response

from voxhub.datatypes.wire.gzipped import gzip_fast
from voxhub.server.local_peer import sent_locally
from voxhub.server.view_answer import HasHeaders, key_etag, strong_etag, view_answer
from voxhub.server.view_cache import ViewCache

#: a raw chunk is gzip'd when its stored block is at most 1/this of its size: then ISA-L
#: takes ≤ ~0.2 ms of a 256 KiB chunk and saves ≥ 3/4 of its bytes (measured on the bench
#: EM: ~0.4 ms at 3x, ~0.07 ms at 20x, ~1 ms for tissue at 1.2x)
RAW_GZIP_MIN_RATIO = 4.0
#: the zstd level of answers compressed for clients that name zstd (level 1 packs a
#: cseg chunk within 3% of level 3's size, at two thirds of its time; decoding costs the
#: same)
ZSTD_LEVEL = 1
#: bumped when an encoding's bytes change, so tags of committed chunks change with them
ENCODING_VERSION = 1
_VARY = {"Vary": "Accept-Encoding"}


@dataclass(frozen=True)
class Encoded:
    """A view answer's body and whether gzip is worth it."""

    body: bytes
    compressible: bool


#: parsed ``Accept-Encoding`` values kept (a client sends the same one every time)
WEIGHTS_KEPT = 256
_WEIGHTS: dict[str, dict[str, float]] = {}


def _weights(header: str) -> dict[str, float]:
    """``Accept-Encoding`` as ``{coding: q}`` (lower case; a malformed ``q`` is 0); the
    few values clients send are parsed once (the answer must not be changed)."""
    weights = _WEIGHTS.get(header)
    if weights is None:
        weights = _parse_weights(header)
        if len(_WEIGHTS) < WEIGHTS_KEPT and len(header) <= 256:
            _WEIGHTS[header] = weights
    return weights


def _parse_weights(header: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for item in header.lower().split(","):
        name, _, params = item.partition(";")
        q = 1.0
        if params:
            key, _, value = params.strip().partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name.strip():
            weights[name.strip()] = q
    return weights


def accepts(request: HasHeaders, coding: str) -> bool:
    """Whether ``Accept-Encoding`` allows ``coding`` (by name or ``*``, with a nonzero
    ``q``; refused by name wins over ``*``)."""
    weights = _weights(request.headers.get("accept-encoding", ""))
    if coding in weights:
        return weights[coding] > 0
    return weights.get("*", 0.0) > 0


def accepts_gzip(request: HasHeaders) -> bool:
    """Whether ``Accept-Encoding`` allows gzip."""
    return accepts(request, "gzip")


def wants_gzip(request: HasHeaders) -> bool:
    """Whether a whole answer to ``request`` may be gzip'd (never a ranged one)."""
    return "range" not in request.headers and accepts_gzip(request)


def wants_zstd(request: HasHeaders) -> bool:
    """Whether a whole answer to ``request`` may be sent as a zstd stream (named: ``*``
    does not count, a client that decodes zstd says so)."""
    if "range" in request.headers:
        return False
    return _weights(request.headers.get("accept-encoding", "")).get("zstd", 0.0) > 0


@dataclass(frozen=True)
class Wire:
    """What to send: the body as it goes on the wire, its tag and extra headers."""

    body: bytes
    etag: str
    headers: dict[str, str]


def _coded_tag(etag: str, coding: str) -> str:
    return f'{etag[:-1]}-{coding}"'


def _coded(body: bytes, tag: str, coding: str) -> Wire:
    headers = {**_VARY, "Content-Encoding": coding}
    return Wire(body, _coded_tag(tag, coding), headers)


def encode_for(
    request: HasHeaders,
    encode: Callable[[], Encoded | None],
    *,
    cache: ViewCache | None = None,
    key: Hashable = None,
) -> Wire | None:
    """The answer ``encode()`` makes, as ``request`` should get it (blocking: run it where
    store reads run); ``None`` if there is nothing (an unwritten chunk). With a ``cache``
    (committed nodes only), ``key`` names the answer for ever."""
    coding = coding_for(request)
    if cache is None:
        made = encode()
        if made is None:
            return None
        tag = strong_etag(made.body)
        if coding is not None and made.compressible:
            return _coded(_pack(made.body, coding), tag, coding)
        return Wire(made.body, tag, dict(_VARY))
    tag = key_etag(ENCODING_VERSION, key)
    if coding is not None:
        found, packed = cache.get((key, coding))
        if found and packed is not None:
            return _coded(packed, tag, coding)
        if not found:  # learn whether it is worth it (and keep both forms)
            known, plain = cache.get(key)
            if known and plain is None:
                return None  # an unwritten chunk
            made = encode()
            cache.put(key, None if made is None else made.body)
            if made is None:
                return None
            packed = _pack(made.body, coding) if made.compressible else None
            cache.put((key, coding), packed)  # None: send it as it is
            if packed is not None:
                return _coded(packed, tag, coding)
            return Wire(made.body, tag, dict(_VARY))

    def identity() -> bytes | None:
        made = encode()
        return None if made is None else made.body

    body = cache.get_or_compute(key, identity)
    return None if body is None else Wire(body, tag, dict(_VARY))


def coding_for(request: HasHeaders) -> str | None:
    """How a compressible whole answer goes to ``request``: as it is to a client on this
    machine (:mod:`.local_peer`), else zstd when the client names it, else gzip when it
    accepts that, else as it is."""
    if sent_locally(request.scope):
        return None
    if wants_zstd(request):
        return "zstd"
    return "gzip" if wants_gzip(request) else None


def _pack(body: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip_fast(body)
    # a compressor per call: one is not safe to share between threads, and making one
    # costs microseconds against the ~0.1 ms of a chunk
    packed: bytes = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)
    return packed


def wire_answer(request: HasHeaders, wire: Wire, media_type: str, *, committed: bool) -> Response:
    """``wire`` as a view answer (ETag/304, Cache-Control, Range: :func:`view_answer`)."""
    return view_answer(
        request, wire.body, media_type, committed=committed, etag=wire.etag, headers=wire.headers
    )
