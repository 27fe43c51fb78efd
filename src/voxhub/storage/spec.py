"""Open a store from a URL (``memory://``, ``lmdb:///dir``, a path, ``s3://bucket/prefix``)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from voxhub.errors import InvalidRequest
from voxhub.optional import require
from voxhub.storage.base import KVStore
from voxhub.storage.memory import MemoryStore


def open_store(url: str) -> KVStore:
    """Open the store named by ``url``; a bare path means an LMDB directory."""
    if url == "memory://":
        return MemoryStore()
    parts = urlsplit(url)
    if parts.scheme in ("", "file", "lmdb"):
        from voxhub.storage.lmdb_store import LmdbStore

        path = parts.path if parts.scheme else url
        if parts.scheme and parts.netloc:  # lmdb://relative/dir
            path = parts.netloc + parts.path
        if not path:
            raise InvalidRequest(f"store URL {url!r} names no directory")
        return LmdbStore(path)
    if parts.scheme == "s3":
        require("obstore", "an s3:// store")  # before s3_store imports it, for a clear error
        from voxhub.storage.s3_store import S3Store

        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return S3Store.from_url(parts.netloc, parts.path.strip("/"), query)
    raise InvalidRequest(
        f"unknown store URL scheme {parts.scheme!r} in {url!r}; "
        "use memory://, lmdb:///path, a directory path, or s3://bucket/prefix"
    )
