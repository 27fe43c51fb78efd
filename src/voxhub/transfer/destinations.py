"""Where an export writes its objects: a local directory or an S3 bucket (obstore).

An export names its objects by relative keys (``s0/c/0/0/0``, ``zarr.json``); a
destination stores bytes under them. Local files are written beside their final name
and renamed into place, so a reader never sees half a shard; S3 objects appear whole.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from voxhub.errors import InvalidRequest
from voxhub.optional import require


class Destination(Protocol):
    """A flat namespace of objects an export writes (thread-safe)."""

    def put(self, key: str, data: bytes) -> None: ...

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""

    def delete_tree(self, prefix: str) -> None:
        """Remove every object under ``prefix/`` (an overwritten export's old array)."""

    def exists(self, key: str) -> bool: ...

    def describe(self) -> str: ...


class DirectoryDestination:
    """Files under a local directory (created if missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InvalidRequest(f"cannot export to {self.root}: it is a file")
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_tree(self, prefix: str) -> None:
        shutil.rmtree(self._path(prefix), ignore_errors=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def describe(self) -> str:
        return str(self.root)


class S3Destination:
    """Objects under ``prefix`` in an S3 bucket (``s3://bucket/prefix?endpoint=...``: the
    query parameters of ``s3://`` stores; credentials default to ``AWS_*`` variables)."""

    def __init__(self, url: str) -> None:
        obstore = require("obstore", "exporting to S3")
        store_module = require("obstore.store", "exporting to S3")
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region", "access_key_id", "secret_access_key"}
        if unknown:
            raise InvalidRequest(f"unknown s3:// URL parameters: {sorted(unknown)}")
        if not parts.netloc:
            raise InvalidRequest(f"{url!r} names no bucket (s3://bucket/prefix)")
        endpoint = query.get("endpoint")
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        self._obstore: Any = obstore
        self._store: Any = store_module.S3Store(
            self.bucket,
            prefix=self.prefix or None,
            endpoint=endpoint,
            region=query.get("region", "us-east-1"),
            access_key_id=query.get("access_key_id") or os.environ.get("AWS_ACCESS_KEY_ID"),
            secret_access_key=query.get("secret_access_key")
            or os.environ.get("AWS_SECRET_ACCESS_KEY"),
            virtual_hosted_style_request=False,  # path-style: what local servers speak
            client_options={"allow_http": bool(endpoint and endpoint.startswith("http://"))},
            retry_config={"max_retries": 3, "retry_timeout": timedelta(seconds=30)},
        )

    def put(self, key: str, data: bytes) -> None:
        self._obstore.put(self._store, key, data)

    def delete(self, key: str) -> None:
        self._obstore.delete(self._store, key)  # absent is not an error on S3

    def delete_tree(self, prefix: str) -> None:
        for batch in self._obstore.list(self._store, prefix=prefix + "/", chunk_size=1000):
            self._obstore.delete(self._store, [item["path"] for item in batch])

    def exists(self, key: str) -> bool:
        try:
            self._obstore.head(self._store, key)
        except FileNotFoundError:
            return False
        return True

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def open_destination(target: str) -> Destination:
    """``s3://bucket/prefix[?endpoint=...]`` or a local directory path."""
    if target.startswith("s3://"):
        return S3Destination(target)
    if "://" in target:
        raise InvalidRequest(f"cannot export to {target!r}: use a directory or s3://bucket/prefix")
    return DirectoryDestination(target)
