"""S3 object-store backend (SeaweedFS, Ceph RGW, AWS...), written on obstore.

Keys become object names under the store's prefix: the lowercase hex of the key bytes.
Hex preserves byte order (also for keys that are prefixes of others), so an ordered
listing from an offset is a ``scan``. Object names that are not hex (a transaction's
key locks ``<hex>~`` and intents ``~txn/<id>``, see :mod:`voxhub.storage.s3_names`) are
not keys; listings report the locks they meet so that reads can settle them.

Guarantees and their limits:

* ``get``/``put``/``delete`` are single requests; ``get_many``, ``put_many`` and
  ``scan_many`` run in parallel on a thread pool, ``delete_many`` uses bulk deletes.
  Batches are **not** atomic (``supports_transactions = False``).
* ``compare_and_swap`` uses conditional requests: ``If-None-Match: *`` when ``expected``
  is ``None``, ``If-Match: <ETag of the value read>`` otherwise (SeaweedFS 4.48 and Ceph
  honour both). Deleting (``new=None``) checks the ETag and then deletes: S3 has no
  conditional delete, so a write landing between the check and the delete is lost.
* ``transact`` is all or nothing, even if the process dies at any step of its commit:
  per-key lease locks, an intent record as the commit point, roll-forward by whoever
  meets it; see :mod:`voxhub.storage.s3_txn` for the protocol and its limits.
* ``pick_values`` lists each range only as far as its chooser reads (one LIST page for
  a versioned read, see :mod:`voxhub.storage.s3_pick`), then GETs the picked key.
* ``scan``/``scan_many``/``pick_values`` show each transaction whole: a listing that
  meets a committed transaction's locks finishes it first, and a value that changed
  between the listing and its fetch makes the read start again. Point reads do not
  check (see s3_txn).
* The first request of an opened store finishes what crashed writers committed.
* ``fault_hook`` (set by :class:`voxhub.testing.faults.FaultyStore`) is called before
  every object write, so tests can fail or kill a commit at each of its steps.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import obstore
from obstore.store import S3Store as _ObS3

from voxhub.errors import InvalidRequest
from voxhub.storage import s3_pick
from voxhub.storage.base import KVStore, Txn
from voxhub.storage.s3_names import (
    NOT_FOUND,
    first_listing_offset,
    key_from_name,
    locked_key,
    name_of,
    translated_errors,
)
from voxhub.storage.s3_txn import DEFAULT_LEASE_S, recover, run_transaction, settle_locks

T = TypeVar("T")
R = TypeVar("R")
Pair = tuple[bytes, bytes | None]

#: parallel requests per store for batch operations.
MAX_PARALLEL_REQUESTS = 16
#: times a read is redone when a commit changed what it listed, before it settles.
READ_ATTEMPTS = 8


#: ``active`` is set on the threads of the stores' request pools (see S3Store._parallel)
_pool_thread = threading.local()


def _mark_pool_thread() -> None:
    _pool_thread.active = True


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
        self._recovered = False
        self._recover_lock = threading.Lock()  # taken only by callers, never pool threads
        #: called before every object write with its kind; voxhub.testing.faults sets it.
        self.fault_hook: Callable[[str], None] | None = None
        #: lease of a transaction's key locks, in seconds (see s3_txn).
        self.txn_lease_s = DEFAULT_LEASE_S
        #: the wall clock leases are set and judged by (processes sharing a store must
        #: roughly agree); tests move it on to play a process that opens the store after a
        #: dead writer's lease ran out, instead of waiting for it.
        self.clock: Callable[[], float] = time.time
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
        # A task already on a pool thread runs its own fan-out inline: waiting there for
        # tasks queued behind it could deadlock the pool (every thread helping a commit
        # in lock_one -> apply_writes, waiting for writes no free thread is left to run).
        if len(args) <= 1 or getattr(_pool_thread, "active", False):
            return [fn(a) for a in args]
        return list(self._executor().map(fn, args))

    def _executor(self) -> ThreadPoolExecutor:
        """The store's request pool, created on first use (once, even under races)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    MAX_PARALLEL_REQUESTS, "voxhub-s3", initializer=_mark_pool_thread
                )
            return self._pool

    # -- raw objects (every request the transaction protocol makes goes through here) --
    def _before_write(self, what: str) -> None:
        if self.fault_hook is not None:
            self.fault_hook(what)

    def get_object(self, name: str) -> tuple[bytes | None, str | None]:
        """An object's body and ETag, or ``(None, None)`` if it does not exist."""
        with translated_errors(self.describe()):
            try:
                result = obstore.get(self.objects, name)
                return bytes(result.bytes()), result.meta["e_tag"]
            except NOT_FOUND:
                return None, None

    def head_object(self, name: str) -> str | None:
        """An object's ETag, ``None`` if it does not exist (one HEAD request)."""
        with translated_errors(self.describe()):
            try:
                return obstore.head(self.objects, name)["e_tag"]
            except NOT_FOUND:
                return None

    def put_object(self, name: str, body: bytes, *, etag: str | bool | None = False) -> str | None:
        """Write an object; return its new ETag, or ``None`` if the condition failed.

        ``etag=False``: unconditional; ``None``: only if absent; a string: only if the
        object still has that ETag.
        """
        self._before_write("put")
        mode: obstore.PutMode = (
            "overwrite" if etag is False else "create" if etag is None else {"e_tag": str(etag)}
        )
        with translated_errors(self.describe()):
            try:
                return obstore.put(self.objects, name, bytes(body), mode=mode)["e_tag"]
            except (obstore.exceptions.AlreadyExistsError, obstore.exceptions.PreconditionError):
                return None

    def delete_objects(self, names: Sequence[str]) -> None:
        """Delete objects (bulk requests of up to 1000; missing ones are no error)."""
        names = list(dict.fromkeys(names))
        if names:
            self._before_write("delete")
            with translated_errors(self.describe()):
                obstore.delete(self.objects, names)

    def list_objects(self, prefix: str) -> list[str]:
        """Names of the objects starting with ``prefix`` (relative to the store's)."""
        with translated_errors(self.describe()):
            return [m["path"] for chunk in obstore.list(self.objects, prefix) for m in chunk]

    # -- reads -----------------------------------------------------------------------
    def get_with_etag(self, key: bytes) -> tuple[bytes | None, str | None]:
        """The value and its ETag, or ``(None, None)`` if the key is absent."""
        with translated_errors(self.describe(), key):
            return self.get_object(name_of(key))

    def etag_of(self, key: bytes) -> str | None:
        """The ETag of ``key``'s object, ``None`` if absent (one HEAD request)."""
        with translated_errors(self.describe(), key):
            return self.head_object(name_of(key))

    def get(self, key: bytes) -> bytes | None:
        self._recover_once()
        return self.get_with_etag(key)[0]

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        self._recover_once()
        return [v for v, _ in self._parallel(self.get_with_etag, keys)]

    def _listing(
        self, start: bytes, end: bytes | None
    ) -> tuple[list[tuple[bytes, str | None]], list[bytes]]:
        """One listing of ``[start, end)``: ``(key, etag)`` pairs and the keys locked."""
        stop = None if end is None else name_of(end)
        pairs: list[tuple[bytes, str | None]] = []
        locked: list[bytes] = []
        with translated_errors(self.describe()):
            stream = obstore.list(self.objects, offset=first_listing_offset(start), chunk_size=1000)
            for chunk in stream:
                for meta in chunk:
                    name = meta["path"]
                    if stop is not None and name >= stop:
                        return pairs, locked
                    key = key_from_name(name)
                    if key is not None:
                        if key >= start:
                            pairs.append((key, meta["e_tag"]))
                        continue
                    held = locked_key(name)
                    if held is not None and held >= start and (end is None or held < end):
                        locked.append(held)
        return pairs, locked

    def list_etags(self, start: bytes, end: bytes | None) -> list[tuple[bytes, str | None]]:
        """``(key, etag)`` for the objects in ``[start, end)``, in key order.

        A listing that meets the locks of a committed transaction finishes that commit
        first and lists again, so it never shows a commit half applied (see s3_txn).
        """
        self._recover_once()
        return self._settled_listing(start, end)

    def _settled_listing(self, start: bytes, end: bytes | None) -> list[tuple[bytes, str | None]]:
        if end is not None and end <= start:
            return []
        return self.settled(lambda: self._listing(start, end))

    def settled(self, listing: Callable[[], tuple[R, list[bytes]]]) -> R:
        """Run ``listing`` (its result and the keys it found locked) until every lock it
        meets is a live writer's before its commit point, or a commit already applied.

        Once a committed transaction's writes were applied (by anyone), one more listing
        shows all of them; its writer may keep its locks a moment longer, so meeting the
        same committed transactions again is no reason to list again. (Parallel listings
        of one read each settle the same commit: the ones whose own apply found the
        writes already landed must still list again, or they would show part of it.)
        """
        seen: set[str] = set()
        for _ in range(READ_ATTEMPTS):
            result, locked = listing()
            if not locked:
                return result
            committed, cleared = settle_locks(self, locked)
            if not cleared and committed <= seen:
                return result
            seen |= committed
        return result

    def pick_values(
        self,
        ranges: Sequence[tuple[bytes, bytes]],
        choose: Callable[[Iterator[bytes]], bytes | None],
    ) -> list[bytes | None]:
        # Each range is listed only as far as ``choose`` reads it: see s3_pick.
        self._recover_once()
        return s3_pick.pick_values(self, ranges, choose, READ_ATTEMPTS)

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[Pair]:
        return iter(self.scan_many([(start, end)], keys_only=keys_only)[0])

    def scan_many(
        self, ranges: Sequence[tuple[bytes, bytes | None]], *, keys_only: bool = False
    ) -> list[list[Pair]]:
        # A LIST request costs a round trip, so touching or overlapping ranges (the
        # per-block version ranges of a box read are contiguous along x) are listed once
        # together, runs in parallel; values are then fetched in one parallel batch. A
        # value whose ETag is not the listed one changed under the read (a commit was
        # being applied): the whole read is done again, so it shows each commit whole.
        self._recover_once()
        runs = _coalesce(ranges)
        for _ in range(READ_ATTEMPTS):
            listed = dict(
                kv
                for run in self._parallel(lambda r: self._settled_listing(r[0], r[1]), runs)
                for kv in run
            )
            keys = sorted(listed)
            per_range: list[list[bytes]] = []
            for start, end in ranges:
                lo = bisect.bisect_left(keys, start)
                hi = len(keys) if end is None else bisect.bisect_left(keys, end)
                per_range.append(keys[lo:hi] if end is None or start < end else [])
            if keys_only:
                return [[(k, None) for k in ks] for ks in per_range]
            wanted = sorted({k for ks in per_range for k in ks})
            got = dict(zip(wanted, self._parallel(self.get_with_etag, wanted), strict=True))
            if all(got[k][1] == listed[k] for k in wanted):
                break
        return [[(k, got[k][0]) for k in ks if got[k][0] is not None] for ks in per_range]

    # -- writes ----------------------------------------------------------------------
    def put(self, key: bytes, value: bytes) -> None:
        self._recover_once()
        with translated_errors(self.describe(), key):
            self.put_object(name_of(key), value)

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        self._recover_once()
        latest = dict(items)  # the last value of a repeated key wins, as with sequential puts
        for key in latest:
            name_of(key)  # refuse bad keys before writing any
        self._parallel(lambda kv: self.put(kv[0], kv[1]), list(latest.items()))

    def delete(self, key: bytes) -> None:
        self._recover_once()
        with translated_errors(self.describe(), key):
            self.delete_objects([name_of(key)])

    def delete_many(self, keys: Iterable[bytes]) -> None:
        self._recover_once()
        self.delete_objects([name_of(k) for k in keys])

    def put_conditional(self, key: bytes, value: bytes, etag: str | None) -> str | None:
        """Write only if the object still has ``etag`` (``None``: is still absent).

        Returns the new ETag, or ``None`` if the condition failed.
        """
        with translated_errors(self.describe(), key):
            return self.put_object(name_of(key), value, etag=etag)

    def compare_and_swap(self, key: bytes, expected: bytes | None, new: bytes | None) -> bool:
        self._recover_once()
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
        """All-or-nothing transaction; see :mod:`voxhub.storage.s3_txn`."""
        self._recover_once()
        return run_transaction(self, fn)

    def _recover_once(self) -> None:
        """Finish commits a crashed process left, once per opened store (first request)."""
        if self._recovered:
            return
        with self._recover_lock:
            if self._recovered:
                return
            recover(self)
            self._recovered = True

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


def _coalesce(ranges: Sequence[tuple[bytes, bytes | None]]) -> list[tuple[bytes, bytes | None]]:
    """Sorted, merged runs covering every non-empty range (touching ranges join)."""
    runs: list[tuple[bytes, bytes | None]] = []
    live = [r for r in ranges if r[1] is None or r[0] < r[1]]
    for start, end in sorted(live, key=lambda r: r[0]):
        if runs and (runs[-1][1] is None or start <= runs[-1][1]):
            last_end = runs[-1][1]
            runs[-1] = (
                runs[-1][0],
                None if last_end is None or end is None else max(last_end, end),
            )
        else:
            runs.append((start, end))
    return runs


def _reopen(bucket: str, prefix: str, settings: dict[str, Any]) -> S3Store:
    """Unpickling helper."""
    return S3Store(bucket, prefix, **settings)
