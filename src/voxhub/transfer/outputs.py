"""Where an export writes its files: a local directory or an S3 bucket (prefix), named
by one string.

* a path (``out/em``, ``/data/em``, ``file:///data/em``): files under that directory,
  each written beside its final name and renamed into place once complete, so a reader
  never sees half a file;
* ``s3://bucket/prefix?endpoint=...&region=...`` (the query as for ``s3://`` stores;
  credentials from ``access_key_id``/``secret_access_key`` or ``AWS_ACCESS_KEY_ID``/
  ``AWS_SECRET_ACCESS_KEY``): one object per file, each PUT whole (an object appears
  complete or not at all).

Writes are thread-safe, so an export's tasks write in parallel. An export that replaces
another lists what is there (:meth:`Output.names`) and deletes what it no longer holds,
and the files a killed writer left half-written beside their names
(:meth:`Output.drop_leftovers`).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from voxhub.errors import InvalidRequest
from voxhub.optional import require

Piece = bytes | memoryview


class Output(Protocol):
    """A place files are written to, by relative names (``info``, ``8_8_8/00.shard``)."""

    def write(self, name: str, parts: Sequence[Piece]) -> None:
        """Write the file ``name`` as the concatenation of ``parts`` (replacing it)."""
        ...

    def exists(self, name: str) -> bool: ...

    def names(self, folder: str) -> list[str]:
        """The files under ``folder`` (``""``: all), by their relative names."""
        ...

    def delete(self, name: str) -> None:
        """Remove the file ``name`` (nothing if absent)."""
        ...

    def drop_leftovers(self, before: float) -> list[str]:
        """Delete the unfinished files of writers that were killed: those last written
        before ``before`` (a ``time.time()``, when this export began); their names.
        (Nothing where each file appears whole or not at all.)"""
        ...

    def describe(self) -> str: ...


def _check_name(name: str) -> str:
    parts = name.split("/")
    if not name or any(p in ("", ".", "..") for p in parts):
        raise InvalidRequest(f"an output file name is relative and plain, got {name!r}")
    return name


class DirectoryOutput:
    """Files under a local directory (made if absent)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InvalidRequest(f"cannot export to {self.root}: it is a file, not a folder")
        if not self.root.parent.is_dir():
            raise InvalidRequest(f"cannot export to {self.root}: no folder {self.root.parent}")

    def write(self, name: str, parts: Sequence[Piece]) -> None:
        def buffered(partial: Path) -> None:
            with partial.open("wb") as f:
                f.writelines(parts)

        self.write_with(name, buffered)

    def write_with(self, name: str, fill: Callable[[Path], object]) -> None:
        """Write the file ``name`` by ``fill(path)``, which writes a sibling that is
        renamed into place once ``fill`` returns (and removed if it raises)."""
        target = self.root / _check_name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}{_PARTIAL}")
        try:
            fill(partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return (self.root / _check_name(name)).exists()

    def names(self, folder: str) -> list[str]:
        top = self.root / _check_name(folder) if folder else self.root
        if not top.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in top.rglob("*")
            if p.is_file() and not p.name.endswith(".partial")  # another writer's, unfinished
        )

    def delete(self, name: str) -> None:
        (self.root / _check_name(name)).unlink(missing_ok=True)

    def drop_leftovers(self, before: float) -> list[str]:
        if not self.root.is_dir():
            return []
        gone = []
        for path in self.root.rglob(f"*{_PARTIAL}"):
            try:  # (another writer may finish, or drop, its own meanwhile)
                stale = _PARTIAL_NAME.fullmatch(path.name) and path.stat().st_mtime < before
                if stale and path.is_file():
                    path.unlink()
                    gone.append(path.relative_to(self.root).as_posix())
            except FileNotFoundError:
                continue
        return sorted(gone)

    def describe(self) -> str:
        return str(self.root)


#: the suffix of a file being written beside its name, and the whole name of one
_PARTIAL = ".partial"
_PARTIAL_NAME = re.compile(r"\..+\.[0-9a-f]{8}\.partial")


class S3Output:
    """Objects under a prefix of an S3 bucket (obstore)."""

    def __init__(self, bucket: str, prefix: str, query: dict[str, str]) -> None:
        unknown = set(query) - {"endpoint", "region", "access_key_id", "secret_access_key"}
        if unknown or not bucket:
            raise InvalidRequest(
                f"an s3:// export needs a bucket and takes endpoint, region, access_key_id "
                f"and secret_access_key; got bucket {bucket!r}, parameters {sorted(unknown)}"
            )
        stores = require("obstore.store", "exporting to s3://")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        endpoint = query.get("endpoint")
        self._obstore = require("obstore", "exporting to s3://")
        from voxhub.storage.s3_names import translated_errors

        with translated_errors(f"s3://{bucket}/{self.prefix}"):
            self._store: Any = stores.S3Store(
                bucket,
                prefix=self.prefix or None,
                endpoint=endpoint,
                region=query.get("region", "us-east-1"),
                access_key_id=query.get("access_key_id") or os.environ.get("AWS_ACCESS_KEY_ID"),
                secret_access_key=query.get("secret_access_key")
                or os.environ.get("AWS_SECRET_ACCESS_KEY"),
                virtual_hosted_style_request=False,
                client_options={"allow_http": bool(endpoint and endpoint.startswith("http://"))},
                retry_config={"max_retries": 3, "retry_timeout": timedelta(seconds=30)},
            )

    def write(self, name: str, parts: Sequence[Piece]) -> None:
        from voxhub.storage.s3_names import translated_errors

        body = parts[0] if len(parts) == 1 else b"".join(parts)
        with translated_errors(self.describe()):
            self._obstore.put(
                self._store,
                _check_name(name),
                bytes(body) if isinstance(body, memoryview) else body,
            )

    def exists(self, name: str) -> bool:
        from voxhub.storage.s3_names import translated_errors

        with translated_errors(self.describe()):
            try:
                self._obstore.head(self._store, _check_name(name))
            except (FileNotFoundError, self._obstore.exceptions.NotFoundError):
                return False
        return True

    def names(self, folder: str) -> list[str]:
        from voxhub.storage.s3_names import translated_errors

        prefix = _check_name(folder).rstrip("/") + "/" if folder else None
        with translated_errors(self.describe()):
            listed = self._obstore.list(self._store, prefix=prefix, chunk_size=1000)
            return sorted(str(meta["path"]) for batch in listed for meta in batch)

    def delete(self, name: str) -> None:
        from voxhub.storage.s3_names import translated_errors

        with translated_errors(self.describe()):
            self._obstore.delete(self._store, _check_name(name))

    def drop_leftovers(self, before: float) -> list[str]:
        return []  # every object is PUT whole

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def open_output(destination: str) -> Output:
    """The :class:`Output` ``destination`` names (see the module)."""
    if not destination.strip():
        raise InvalidRequest("an export needs a destination: a folder or s3://bucket/prefix")
    parts = urlsplit(destination)
    if parts.scheme == "s3":
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return S3Output(parts.netloc, parts.path, query)
    if parts.scheme == "file":
        return DirectoryOutput(parts.path)
    if parts.scheme and len(parts.scheme) > 1:  # a Windows drive letter is not a scheme
        raise InvalidRequest(
            f"cannot export to {destination!r}: use a folder or s3://bucket/prefix"
        )
    return DirectoryOutput(destination)
