"""S3 object-store backend (SeaweedFS, Ceph RGW, AWS...), written on obstore.

Keys become object names under the store's prefix: the lowercase hex of the key bytes.
Hex preserves byte order (also for keys that are prefixes of others), so an ordered
listing from an offset is a ``scan``. Object names that are not hex (the commit lock,
``~commit-lock``) are skipped by scans.

Guarantees and their limits:

* ``get``/``put``/``delete`` are single requests; ``get_many``, ``put_many`` and
  ``scan_many`` run in parallel on a thread pool, ``delete_many`` uses bulk deletes.
  Batches are **not** atomic (``supports_transactions = False``).
* ``compare_and_swap`` uses conditional requests: ``If-None-Match: *`` when ``expected``
  is ``None``, ``If-Match: <ETag of the value read>`` otherwise (SeaweedFS 4.48 and Ceph
  honour both). Deleting (``new=None``) checks the ETag and then deletes: S3 has no
  conditional delete, so a write landing between the check and the delete is lost.
* ``transact`` is optimistic and serialised by a commit lock; see
  :mod:`voxhub.storage.s3_txn`.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import obstore
from obstore.store import S3Store as _ObS3

from voxhub.errors import InvalidRequest
from voxhub.storage.base import KVStore, Txn
from voxhub.storage.s3_names import (
    NOT_FOUND,
    first_listing_offset,
    key_from_name,
    name_of,
    translated_errors,
)
from voxhub.storage.s3_txn import run_optimistic

T = TypeVar("T")
Pair = tuple[bytes, bytes | None]

#: parallel requests per store for batch operations.
MAX_PARALLEL_REQUESTS = 16


class S3Store(KVStore):
    """An ordered key-value store in an S3 bucket, under an optional prefix."""

    supports_transactions = False
    supports_multiprocess = True
    persistent = True

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        allow_http: bool | None = None,
    ) -> None:
        if not bucket:
            raise InvalidRequest("an S3 store needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint
        self.region = region
        self._access_key_id = access_key_id or os.environ.get("AWS_ACCESS_KEY_ID")
        self._secret = secret_access_key or os.environ.get("AWS_SECRET_ACCESS_KEY")
        if allow_http is None:
            allow_http = bool(endpoint and endpoint.startswith("http://"))
        self._allow_http = allow_http
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        with translated_errors(self.describe()):
            self.objects = _ObS3(
                bucket,
                prefix=self.prefix or None,
                endpoint=endpoint,
                region=region,
                access_key_id=self._access_key_id,
                secret_access_key=self._secret,
                virtual_hosted_style_request=False,  # path-style: what local servers speak
                client_options={
                    "allow_http": allow_http,
                    "connect_timeout": "5s",
                    "timeout": "60s",
                },
                # Bounded, so an unreachable server is an error within seconds, not minutes.
                retry_config={"max_retries": 3, "retry_timeout": timedelta(seconds=15)},
            )

    @classmethod
    def from_url(cls, bucket: str, prefix: str, query: dict[str, str]) -> S3Store:
        """Build from the parts of ``s3://bucket/prefix?endpoint=...&region=...``."""
        unknown = set(query) - {"endpoint", "region", "access_key_id", "secret_access_key"}
        if unknown:
            raise InvalidRequest(f"unknown s3:// URL parameters: {sorted(unknown)}")
        return cls(
            bucket,
            prefix,
            endpoint=query.get("endpoint"),
            region=query.get("region", "us-east-1"),
            access_key_id=query.get("access_key_id"),
            secret_access_key=query.get("secret_access_key"),
        )

    def describe(self) -> str:
        """``s3://bucket/prefix`` for messages."""
        return f"s3://{self.bucket}/{self.prefix}"

    def spec(self) -> str:
        query = {"region": self.region}
        if self.endpoint:
            query["endpoint"] = self.endpoint
        return f"{self.describe()}?{urlencode(query)}"  # never the secret

    def _parallel(self, fn: Callable[[Any], T], args: Sequence[Any]) -> list[T]:
        if len(args) <= 1:
            return [fn(a) for a in args]
        return list(self._executor().map(fn, args))

    def _executor(self) -> ThreadPoolExecutor:
        """The store's request pool, created on first use (once, even under races)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(MAX_PARALLEL_REQUESTS, "voxhub-s3")
            return self._pool

    # -- reads -----------------------------------------------------------------------
    def get_with_etag(self, key: bytes) -> tuple[bytes | None, str | None]:
        """The value and its ETag, or ``(None, None)`` if the key is absent."""
        with translated_errors(self.describe(), key):
            try:
                result = obstore.get(self.objects, name_of(key))
                return bytes(result.bytes()), result.meta["e_tag"]
            except NOT_FOUND:
                return None, None

    def etag_of(self, key: bytes) -> str | None:
        """The ETag of ``key``'s object, ``None`` if absent (one HEAD request)."""
        with translated_errors(self.describe(), key):
            try:
                return obstore.head(self.objects, name_of(key))["e_tag"]
            except NOT_FOUND:
                return None

    def get(self, key: bytes) -> bytes | None:
        return self.get_with_etag(key)[0]

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        return self._parallel(self.get, keys)

    def list_etags(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, str | None]]:
        """Yield ``(key, etag)`` for the objects in ``[start, end)``, in key order."""
        stop = None if end is None else name_of(end)
        with translated_errors(self.describe()):
            stream = obstore.list(self.objects, offset=first_listing_offset(start), chunk_size=1000)
            for chunk in stream:
                for meta in chunk:
                    name = meta["path"]
                    if stop is not None and name >= stop:
                        return
                    key = key_from_name(name)
                    if key is not None and key >= start:
                        yield key, meta["e_tag"]

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[Pair]:
        if end is not None and end <= start:
            return
        if keys_only:
            for key, _ in self.list_etags(start, end):
                yield key, None
            return
        batch: list[bytes] = []
        for key, _ in self.list_etags(start, end):
            batch.append(key)
            if len(batch) == 4 * MAX_PARALLEL_REQUESTS:
                yield from self._values_of(batch)
                batch = []
        yield from self._values_of(batch)

    def _values_of(self, keys: list[bytes]) -> Iterator[Pair]:
        for key, value in zip(keys, self.get_many(keys), strict=True):
            if value is not None:  # deleted since it was listed
                yield key, value

    def scan_many(
        self, ranges: Sequence[tuple[bytes, bytes]], *, keys_only: bool = False
    ) -> list[list[Pair]]:
        # A LIST request costs a round trip, so touching or overlapping ranges (the
        # per-block version ranges of a box read are contiguous along x) are listed once
        # together, runs in parallel; values are then fetched in one parallel batch.
        runs = _coalesce(ranges)
        listed = self._parallel(lambda r: [k for k, _ in self.list_etags(r[0], r[1])], runs)
        keys = sorted({k for run in listed for k in run})
        per_range: list[list[bytes]] = []
        for start, end in ranges:
            lo, hi = bisect.bisect_left(keys, start), bisect.bisect_left(keys, end)
            per_range.append(keys[lo:hi] if start < end else [])
        if keys_only:
            return [[(k, None) for k in ks] for ks in per_range]
        wanted = sorted({k for ks in per_range for k in ks})
        values = dict(zip(wanted, self.get_many(wanted), strict=True))
        return [[(k, values[k]) for k in ks if values[k] is not None] for ks in per_range]

    # -- writes ----------------------------------------------------------------------
    def put(self, key: bytes, value: bytes) -> None:
        with translated_errors(self.describe(), key):
            obstore.put(self.objects, name_of(key), bytes(value))

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        latest = dict(items)  # the last value of a repeated key wins, as with sequential puts
        for key in latest:
            name_of(key)  # refuse bad keys before writing any
        self._parallel(lambda kv: self.put(kv[0], kv[1]), list(latest.items()))

    def delete(self, key: bytes) -> None:
        with translated_errors(self.describe(), key):
            obstore.delete(self.objects, name_of(key))

    def delete_many(self, keys: Iterable[bytes]) -> None:
        names = list(dict.fromkeys(name_of(k) for k in keys))
        if names:
            with translated_errors(self.describe()):
                obstore.delete(self.objects, names)  # bulk DeleteObjects, 1000 per request

    def put_conditional(self, key: bytes, value: bytes, etag: str | None) -> str | None:
        """Write only if the object still has ``etag`` (``None``: is still absent).

        Returns the new ETag, or ``None`` if the condition failed.
        """
        mode: obstore.PutMode = "create" if etag is None else {"e_tag": etag}
        with translated_errors(self.describe(), key):
            try:
                return obstore.put(self.objects, name_of(key), bytes(value), mode=mode)["e_tag"]
            except (obstore.exceptions.AlreadyExistsError, obstore.exceptions.PreconditionError):
                return None

    def compare_and_swap(self, key: bytes, expected: bytes | None, new: bytes | None) -> bool:
        current, etag = self.get_with_etag(key)
        if current != expected:
            return False
        if new is None:
            if etag is None:
                return True  # absent, as expected and as asked
            if self.etag_of(key) != etag:
                return False
            self.delete(key)  # not conditional: see the module docstring
            return True
        return self.put_conditional(key, new, etag) is not None

    def transact(self, fn: Callable[[Txn], T]) -> T:
        """Optimistic transaction; see :func:`voxhub.storage.s3_txn.run_optimistic`."""
        return run_optimistic(self, fn)

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __reduce__(self) -> tuple[Any, ...]:
        # The secret travels in the pickle so that worker processes can reopen the store.
        return (_reopen, (self.bucket, self.prefix, self._settings()))

    def _settings(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "access_key_id": self._access_key_id,
            "secret_access_key": self._secret,
            "allow_http": self._allow_http,
        }

    def __repr__(self) -> str:
        return f"S3Store({self.spec()!r})"


def _coalesce(ranges: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Sorted, merged runs covering every non-empty range (touching ranges join)."""
    runs: list[tuple[bytes, bytes]] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs


def _reopen(bucket: str, prefix: str, settings: dict[str, Any]) -> S3Store:
    """Unpickling helper."""
    return S3Store(bucket, prefix, **settings)
