"""The real ``voxhub serve``: with ``--workers 2`` whichever worker answers ``/metrics``
counts the requests of both (prometheus_client's multiprocess mode), exactly; with
``--metrics off`` there is no route."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from voxhub.server.metrics import ServerMetrics, worker_files
from voxhub.testing.server import start_server

from .prometheus_text import samples, value

REQUESTS = "voxhub_http_requests_total"
HEARTBEAT = {"method": "GET", "route": "/api/heartbeat", "status": "200"}


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as reply:  # a new connection each time
        text: str = reply.read().decode()
        return text


def heartbeats_per_worker(directory: Path) -> dict[str, float]:
    """Heartbeats each worker counted, read from its own file (named by its pid)."""
    counts = {}
    # a worker's file is created empty and sized a moment later: only readable ones count
    for path in map(Path, worker_files(str(directory))):
        if not path.name.startswith("counter_"):
            continue
        merged = MultiProcessCollector.merge([str(path)])
        counts[path.name] = sum(
            s.value for m in merged for s in m.samples
            if s.name == REQUESTS and s.labels == HEARTBEAT
        )  # fmt: skip
    return counts


def test_both_workers_requests_are_counted_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `voxhub serve` makes (and removes) such a directory itself; one of ours lets the test
    # see which workers wrote to it
    shared = tmp_path / "metrics"
    shared.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    server = start_server(tmp_path / "store", workers=2)
    try:
        before = samples(get(f"{server.url}/metrics"))
        start = heartbeats_per_worker(shared)
        sent = 0
        grew: dict[str, float] = {}
        # until both workers served some (the second may still be starting on a busy host)
        deadline = time.monotonic() + 60
        while len(grew) < 2 and time.monotonic() < deadline:
            for _ in range(10):
                assert get(f"{server.url}/api/heartbeat") == "OK"
            sent += 10
            now = heartbeats_per_worker(shared)
            grew = {k: v - start.get(k, 0) for k, v in now.items() if v > start.get(k, 0)}
        assert len(grew) == 2, "the kernel gave every connection to one worker"
        assert sum(grew.values()) == sent
        after = samples(get(f"{server.url}/metrics"))
    finally:
        server.stop()
    assert value(after, REQUESTS, **HEARTBEAT) - value(before, REQUESTS, **HEARTBEAT) == sent
    # per-process series would describe one random worker: left out
    assert not any(name.startswith("process_") for name, _ in after)
    assert value(after, "voxhub_cache_misses_total", cache="ancestry") >= 0


def test_serve_metrics_off_has_no_route(tmp_path: Path) -> None:
    server = start_server(tmp_path / "store", extra_args=("--metrics", "off"))
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(f"{server.url}/metrics")
        assert refused.value.code == 404
        refused.value.close()
    finally:
        server.stop()


def test_a_scrape_skips_a_worker_file_not_sized_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a worker creates its file empty and sizes it a moment later: a scrape in between
    # must count the other workers, not fail to parse the empty file (a 500)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    written = MmapedDict(str(tmp_path / "counter_1.db"))
    labels = list(HEARTBEAT)
    key = mmap_key(REQUESTS, REQUESTS, labels, [HEARTBEAT[k] for k in labels], "requests")
    written.write_value(key, 7.0, 0.0)
    written.close()
    (tmp_path / "counter_2.db").touch()
    assert worker_files(str(tmp_path)) == [str(tmp_path / "counter_1.db")]
    exposed = samples(ServerMetrics().exposition().decode())
    assert value(exposed, REQUESTS, **HEARTBEAT) == 7
