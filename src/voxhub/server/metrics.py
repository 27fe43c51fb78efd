"""The server's Prometheus metrics: what ``GET /metrics`` exposes, and how it is collected.

Series (Prometheus text exposition format 0.0.4):

* ``voxhub_http_requests_total{method,route,status}`` — requests answered;
* ``voxhub_http_request_duration_seconds{method,route}`` — a histogram, arrival to last
  body byte;
* ``voxhub_http_request_bytes_total{method,route}`` and
  ``voxhub_http_response_bytes_total{method,route}`` — body bytes received and sent;
* ``voxhub_store_operation_duration_seconds{backend,operation}`` — a histogram of the
  store operations the server made (``get``, ``get_many``, ``pick_values``, ``put``,
  ``transact``, ...; backend ``memory``, ``lmdb`` or ``s3``), through
  :class:`~voxhub.storage.timed.TimedStore`;
* ``voxhub_cache_hits_total{cache}`` and ``voxhub_cache_misses_total{cache}`` — lookups of
  the in-memory caches (:mod:`voxhub.cache_stats`) since the app was created, in this
  process (embedded use in the same process included);
* ``process_*`` (resident memory, CPU seconds, open files) in a single-process server.

``route`` is always a route template or ``unmatched`` (see :mod:`.observe`) and
``method`` one of the HTTP methods the server knows or ``other``, so the number of series
is bounded by the route table, whatever clients send.

Several workers (``voxhub serve --workers N``) are separate processes; a scrape reaches one
of them. ``voxhub serve`` therefore runs prometheus_client's multiprocess mode when
N > 1: it points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers
start, each worker writes its samples to memory-mapped files there, and whichever worker
answers ``/metrics`` sums every worker's files (a worker that died keeps its counts, so
counters never go back). Workers push their cache counts there at the end of each
request. ``process_*`` series are left out in that mode (they would describe one random
worker). Set ``PROMETHEUS_MULTIPROC_DIR`` yourself (an empty directory) to run the same
mode under another process manager.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from voxhub import cache_stats
from voxhub.server.observe import RequestRecord
from voxhub.storage.timed import StoreTimer

#: the environment variable that switches prometheus_client to multiprocess mode
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: the content type of the text exposition format ``generate_latest`` writes
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: request durations: metadata reads take ~0.1–1 ms, big cutouts seconds
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
#: store operations: an LMDB get takes ~15 µs, an S3 request ~ms, a big transaction more
STORE_BUCKETS = (
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5,
)  # fmt: skip
#: methods labelled as themselves; any other is ``other``
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


class ServerMetrics:
    """The metrics of one app (one per worker process): recorded by the
    :class:`~voxhub.server.observe.Observe` middleware and the timed store, exposed by
    :meth:`exposition`."""

    def __init__(self) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` twins
        self.registry = registry = CollectorRegistry()
        http = ("method", "route")
        self.requests = Counter(
            "voxhub_http_requests",
            "HTTP requests answered, by method, route template and status.",
            (*http, "status"),
            registry=registry,
        )
        self.duration = Histogram(
            "voxhub_http_request_duration_seconds",
            "Time from a request's arrival to its last response byte.",
            http,
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.received = Counter(
            "voxhub_http_request_bytes", "Request body bytes received.", http, registry=registry
        )
        self.sent = Counter(
            "voxhub_http_response_bytes", "Response body bytes sent.", http, registry=registry
        )
        self.store_ops = Histogram(
            "voxhub_store_operation_duration_seconds",
            "Duration of the store operations the server made, by backend and operation.",
            ("backend", "operation"),
            buckets=STORE_BUCKETS,
            registry=registry,
        )
        self.cache_hits = Counter(
            "voxhub_cache_hits", "Lookups an in-memory cache answered.", ("cache",),
            registry=registry,
        )  # fmt: skip
        self.cache_misses = Counter(
            "voxhub_cache_misses", "Lookups an in-memory cache missed.", ("cache",),
            registry=registry,
        )  # fmt: skip
        if self.multiprocess_dir is None:
            ProcessCollector(registry=registry)
        # label children, looked up once per distinct label set (labels() validates each time)
        self._http: dict[tuple[str, str, int], tuple[Counter, Histogram, Counter, Counter]] = {}
        # counted from now on: the caches' totals so far are another app's business
        self._caches_seen = cache_stats.snapshot()
        for name in self._caches_seen:
            self.cache_hits.labels(name)
            self.cache_misses.labels(name)
        self._caches_lock = threading.Lock()

    # -- recording -------------------------------------------------------------------------
    def record(self, record: RequestRecord) -> None:
        """Count one finished request (an :class:`~voxhub.server.observe.Observe` sink)."""
        method = record.method if record.method in METHODS else "other"
        key = (method, record.route, record.status)
        children = self._http.get(key)
        if children is None:
            labels = (method, record.route)
            children = self._http[key] = (
                self.requests.labels(*labels, str(record.status)),
                self.duration.labels(*labels),
                self.received.labels(*labels),
                self.sent.labels(*labels),
            )
        requests, duration, received, sent = children
        requests.inc()
        duration.observe(record.seconds)
        if record.received:
            received.inc(record.received)
        if record.sent:
            sent.inc(record.sent)
        if self.multiprocess_dir is not None:  # other workers read our files, not our memory
            self.sync_caches()

    def store_timer(self, backend: str) -> StoreTimer:
        """The timer a :class:`~voxhub.storage.timed.TimedStore` of ``backend`` reports to."""
        children: dict[str, Histogram] = {}

        def observe(operation: str, seconds: float) -> None:
            child = children.get(operation)
            if child is None:
                child = children.setdefault(operation, self.store_ops.labels(backend, operation))
            child.observe(seconds)

        return observe

    def sync_caches(self) -> None:
        """Add the cache lookups counted since the last call to the cache counters."""
        with self._caches_lock:
            now = cache_stats.snapshot()
            for name, (hits, misses) in now.items():
                old = self._caches_seen.get(name)
                if old is None:  # first seen: show it (zeros included), counted from (0, 0)
                    self.cache_hits.labels(name).inc(hits)
                    self.cache_misses.labels(name).inc(misses)
                    continue
                if hits != old[0]:
                    self.cache_hits.labels(name).inc(hits - old[0])
                if misses != old[1]:
                    self.cache_misses.labels(name).inc(misses - old[1])
            self._caches_seen = now

    # -- exposing ----------------------------------------------------------------------------
    def exposition(self) -> bytes:
        """The metrics in Prometheus text format (every worker's, in multiprocess mode)."""
        self.sync_caches()
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        merged.register(_WorkerFiles(self.multiprocess_dir))
        return generate_latest(merged)


def worker_files(directory: str) -> list[str]:
    """The workers' sample files in ``directory`` that can be read.

    A worker creates its file empty and then sizes it (prometheus_client's ``MmapedDict``);
    a scrape that globs the file in between would fail to parse it (and answer 500). An
    empty file holds no samples yet, and a file never shrinks, so leaving it out is exact.
    """
    return sorted(
        path for path in glob.glob(os.path.join(directory, "*.db")) if os.path.getsize(path) > 0
    )


class _WorkerFiles(Collector):
    """prometheus_client's ``MultiProcessCollector`` over :func:`worker_files` only."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def collect(self) -> Iterable[Metric]:
        merged: Iterable[Metric] = MultiProcessCollector.merge(  # type: ignore[no-untyped-call]
            worker_files(self.directory), accumulate=True
        )
        return merged
