"""Request and response bodies: bounded reading and the ``compression=`` wrappers.

A body is read in chunks and refused with :class:`TooLarge` as soon as it passes the
server's byte limit, so an oversized upload is never held in memory. Decompression is
bounded by the size the URL announces (a "zip bomb" cannot inflate past it), and a body
that inflates to any other size is an :class:`InvalidRequest` naming the expected size.

Compressions (``?compression=``):

* ``lz4``: accepted as an LZ4 frame, as an LZ4 block with lz4's 4-byte size prefix, or as
  a bare LZ4 block (DVID's form); written as a bare block (the size is in the URL).
* ``gzip``: gzip or zlib streams are accepted; written as gzip.
* ``zstd``: one zstd frame.
* absent, ``raw`` or ``uncompressed``: the bytes as they are.
"""

from __future__ import annotations

import gzip
import zlib

import lz4.block
import lz4.frame
import zstandard
from starlette.requests import Request

from voxhub.errors import InvalidRequest, TooLarge

COMPRESSIONS = ("raw", "lz4", "gzip", "zstd")
#: what the decompressors raise on corrupt or truncated input (lz4's block error is a
#: bare ``Exception`` subclass, its frame errors are ``RuntimeError``)
_CORRUPT = (
    RuntimeError,
    ValueError,
    OSError,
    EOFError,
    zlib.error,
    zstandard.ZstdError,
    lz4.block.LZ4BlockError,
)
_LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"


def parse_compression(value: str | None) -> str:
    """The canonical compression name of a ``compression=`` query value."""
    name = (value or "raw").lower()
    if name == "uncompressed":
        name = "raw"
    if name not in COMPRESSIONS:
        raise InvalidRequest(
            f"compression {value!r} is not one of {', '.join(COMPRESSIONS)}, uncompressed"
        )
    return name


def check_size(nbytes: int, limit: int, what: str) -> None:
    """Refuse a request of ``nbytes`` over the server's ``limit`` (before allocating it)."""
    if nbytes > limit:
        raise TooLarge(
            f"{what} of {nbytes} bytes exceeds the server limit of {limit} bytes per request; "
            "split it into smaller requests"
        )


def declared_length(request: Request) -> int | None:
    """The body length the Content-Length header declares, if it is a plain decimal
    (a header like ``²`` passes ``str.isdigit`` and then fails ``int()``)."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isascii() or not declared.isdigit():
        return None
    return int(declared) if len(declared) <= 20 else 2**64


async def read_body(request: Request, limit: int, what: str = "request body") -> bytes:
    """The whole body, refused with :class:`TooLarge` once it passes ``limit`` bytes."""
    declared = declared_length(request)
    if declared is not None:
        check_size(declared, limit, what)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        check_size(total, limit, what)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_exact(request: Request, expected: int) -> bytearray:
    """An uncompressed body of exactly ``expected`` bytes, read into one buffer.

    The buffer grows as bytes arrive (never past ``expected``), so a client that declares
    a 1 GiB box and stalls costs what it sent, not what it declared; and appending to one
    buffer avoids holding the chunks and their join at once (a 1 GiB write would need
    2 GiB; growth is amortised, and the C allocator remaps large buffers rather than
    copying them). Any other length is an InvalidRequest.
    """
    buffer = bytearray()
    async for chunk in request.stream():
        if len(buffer) + len(chunk) > expected:
            raise InvalidRequest(f"body has more than {expected} bytes; the box needs exactly that")
        buffer += chunk
    if len(buffer) != expected:
        raise InvalidRequest(f"body has {len(buffer)} bytes; the box needs exactly {expected}")
    return buffer


def decompress(body: bytes, compression: str, expected: int) -> bytes:
    """Inflate ``body`` to exactly ``expected`` bytes (InvalidRequest otherwise)."""
    try:
        data = _inflate(body, compression, expected)
    except _CORRUPT as e:
        raise InvalidRequest(f"body is not valid {compression} data: {e}") from None
    if len(data) != expected:
        raise InvalidRequest(
            f"body holds {len(data)}{'+' if len(data) > expected else ''} bytes "
            f"after {compression} decompression; the box needs exactly {expected} bytes"
        )
    return data


def _inflate(body: bytes, compression: str, expected: int) -> bytes:
    bound = expected + 1  # one byte more than allowed is enough to detect "too long"
    if compression == "raw":
        return body
    if compression == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(body)
        return reader.read(bound)
    if compression == "gzip":
        inflater = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header
        return inflater.decompress(body, bound)
    if body.startswith(_LZ4_FRAME_MAGIC):
        frame: bytes = lz4.frame.LZ4FrameDecompressor().decompress(body, max_length=bound)
        return frame
    if len(body) >= 4 and int.from_bytes(body[:4], "little") == expected:
        try:
            prefixed: bytes = lz4.block.decompress(body)
            return prefixed
        except lz4.block.LZ4BlockError:
            pass  # a bare block whose first bytes happen to equal the size
    try:
        bare: bytes = lz4.block.decompress(body, uncompressed_size=expected)
    except lz4.block.LZ4BlockError:
        # a bare block cannot tell corrupt data from data longer than the bound
        raise InvalidRequest(
            f"body is not valid lz4 data, or inflates past what "
            f"the box needs exactly {expected} bytes"
        ) from None
    return bare


def compress(data: bytes, compression: str) -> bytes:
    """``data`` wrapped in ``compression`` (see the module docstring for each form)."""
    if compression == "raw":
        return data
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=1).compress(data)
    if compression == "gzip":
        return gzip.compress(data, compresslevel=1)
    block: bytes = lz4.block.compress(data, store_size=False)
    return block
