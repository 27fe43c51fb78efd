"""``GET /metrics`` through the real app: requests counted exactly per route template and
status, latency histograms, body bytes, store operation latencies per backend, cache
lookups, bounded labels whatever paths clients try, and who may read it."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

import voxhub
from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.metrics import HTTP_BUCKETS, METHODS
from voxhub.server.metrics_route import MetricsAccess
from voxhub.service.auth import AuthConfig, AuthMode
from voxhub.testing.seaweed import SeaweedServer

from .auth_env import make_auth_env
from .conftest import Env
from .prometheus_text import SampleKey, label_values, samples, value

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

INFO = "/api/node/{uuid}/{name}/info"
RAW = "/api/node/{uuid}/{name}/raw/{dims}/{size}/{offset}"
INSTANCE_CATCH_ALL = "/api/node/{uuid}/{name}/{rest}"
REQUESTS = "voxhub_http_requests_total"
STORE_OPS = "voxhub_store_operation_duration_seconds_count"


def scrape(client: TestClient) -> dict[SampleKey, float]:
    reply = client.get("/metrics")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return samples(reply.text)


def delta(after: dict[SampleKey, float], before: dict[SampleKey, float], name: str,
          **labels: str) -> float:  # fmt: skip
    return value(after, name, **labels) - value(before, name, **labels)


def test_requests_are_counted_exactly_by_route_template_and_status(env: Env) -> None:
    before = scrape(env.client)
    for _ in range(3):
        assert env.client.get(f"/api/node/{env.uuid}/gray/info").status_code == 200
    for _ in range(2):
        assert env.client.get("/api/node/ffffffff/gray/info").status_code == 404
    assert env.client.post("/api/repos", content=b"{").status_code == 400
    after = scrape(env.client)
    assert delta(after, before, REQUESTS, method="GET", route=INFO, status="200") == 3
    assert delta(after, before, REQUESTS, method="GET", route=INSTANCE_CATCH_ALL, status="404") == 2
    assert delta(after, before, REQUESTS, method="POST", route="/api/repos", status="400") == 1
    # the first scrape is counted by the second (a scrape cannot count itself)
    assert delta(after, before, REQUESTS, method="GET", route="/metrics", status="200") == 1
    total = sum(v for (name, _), v in after.items() if name == REQUESTS)
    assert total - sum(v for (name, _), v in before.items() if name == REQUESTS) == 3 + 2 + 1 + 1


def test_latency_histogram_has_the_buckets_and_counts_each_request(env: Env) -> None:
    for _ in range(4):
        env.client.get(f"/api/node/{env.uuid}/gray/info")
    found = scrape(env.client)
    labels = {"method": "GET", "route": INFO}
    name = "voxhub_http_request_duration_seconds"
    buckets = {
        dict(key)["le"]: v
        for (n, key), v in found.items()
        if n == f"{name}_bucket" and {k: v for k, v in key if k != "le"} == labels
    }
    assert sorted(float(le) for le in buckets) == [*map(float, HTTP_BUCKETS), float("inf")]
    counts = [buckets[le] for le in sorted(buckets, key=float)]
    assert counts == sorted(counts)  # cumulative
    assert counts[-1] == value(found, f"{name}_count", **labels) == 4
    assert value(found, f"{name}_sum", **labels) > 0


def test_body_bytes_in_and_out_per_route(env: Env) -> None:
    body = np.arange(512, dtype=np.uint8).tobytes()
    before = scrape(env.client)
    wrote = env.client.post(f"/api/node/{env.uuid}/gray/raw/0_1_2/8_8_8/0_0_0", content=body)
    read = env.client.get(f"/api/node/{env.uuid}/gray/raw/0_1_2/16_8_4/0_0_0")
    assert (wrote.status_code, read.status_code) == (200, 200)
    after = scrape(env.client)
    received = "voxhub_http_request_bytes_total"
    sent = "voxhub_http_response_bytes_total"
    assert delta(after, before, received, method="POST", route=RAW) == 512
    assert delta(after, before, sent, method="GET", route=RAW) == len(read.content) == 512
    assert delta(after, before, received, method="GET", route=RAW) == 0


@pytest.fixture(params=["memory", "lmdb", pytest.param("s3", marks=pytest.mark.s3)])
def backend_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EmbeddedHub]:
    if request.param == "s3":
        weed: SeaweedServer = request.getfixturevalue("seaweed")
        with EmbeddedHub(weed.open_store(f"metrics-{uuid.uuid4().hex}")) as hub:
            yield hub
        return
    location = "memory://" if request.param == "memory" else str(tmp_path / "store")
    with voxhub.open(location) as hub:
        assert isinstance(hub, EmbeddedHub)
        yield hub


def test_store_operation_latencies_appear_for_the_backend(backend_hub: EmbeddedHub) -> None:
    backend = backend_hub.store.spec().split(":", 1)[0]
    uuid_ = backend_hub.create_repo("m").master.create_volume("v", "uint8").node.uuid
    with TestClient(create_app(backend_hub)) as client:
        before = scrape(client)
        body = bytes(range(256)) * 2
        raw = f"/api/node/{uuid_}/v/raw/0_1_2/8_8_8/0_0_0"
        assert client.post(raw, content=body).status_code == 200
        assert client.get(raw).content == body
        after = scrape(client)
    assert label_values(after, STORE_OPS, "backend") == {backend}
    ops = label_values(after, STORE_OPS, "operation")
    assert {"get", "pick_values", "transact"} <= ops
    for op in ("pick_values", "transact"):
        assert delta(after, before, STORE_OPS, backend=backend, operation=op) >= 1
    assert value(after, "voxhub_store_operation_duration_seconds_sum", backend=backend,
                 operation="transact") > 0  # fmt: skip


def test_cache_lookups_are_counted(env: Env) -> None:
    before = scrape(env.client)
    for _ in range(3):
        env.client.get(f"/api/node/{env.uuid}/gray/raw/0_1_2/16_8_4/0_0_0")
        env.client.get("/api/repos/info")
    after = scrape(env.client)
    caches = label_values(after, "voxhub_cache_hits_total", "cache")
    assert {"ancestry", "ancestry_chunk", "node_record", "scratch_buffer"} <= caches
    assert {"output_mapping", "repo_derived", "auth_state"} <= caches
    # the same node's ancestry is computed once, then served from the cache
    assert delta(after, before, "voxhub_cache_hits_total", cache="ancestry") >= 2
    assert delta(after, before, "voxhub_cache_hits_total", cache="node_record") >= 3
    # the repo's DAG is built at most once, then served while the repo is unchanged
    assert delta(after, before, "voxhub_cache_hits_total", cache="repo_derived") >= 2


def test_labels_stay_bounded_for_many_distinct_paths(env: Env) -> None:
    tokens = [uuid.uuid4().hex for _ in range(60)]
    for i, token in enumerate(tokens):
        paths = [
            f"/{token}",
            f"/api/node/{token}/gray/info",
            f"/api/node/{env.uuid}/{token}/raw/0_1_2/1_1_1/0_0_0",
            f"/api/node/{env.uuid}/gray/{token}/",
            f"/api/repo/{token}/info",
        ]
        assert env.client.get(paths[i % len(paths)]).status_code in (400, 404)
    for method in ("PROPFIND", "BREW", tokens[0][:8].upper()):
        env.client.request(method, "/api/repos/info")
    text = env.client.get("/metrics").text
    assert not any(token in text for token in tokens)
    found = samples(text)
    assert label_values(found, REQUESTS, "method") <= METHODS | {"other"}
    routes = label_values(found, REQUESTS, "route")
    assert routes <= {"unmatched", INSTANCE_CATCH_ALL, "/api/repo/{uuid}/info", "/api/repos/info"}
    assert len([key for key in found if key[0] == REQUESTS]) <= 8


@pytest.mark.parametrize(
    ("access", "auth", "user", "status"),
    [
        ("public", AuthMode.TOKENS, None, 200),
        ("off", AuthMode.OFF, None, 404),
        ("admin", AuthMode.OFF, None, 200),  # without authentication everyone is an admin
        ("admin", AuthMode.TOKENS, None, 401),
        ("admin", AuthMode.TOKENS, "reader", 403),
        ("admin", AuthMode.TOKENS, "root", 200),
    ],
)
def test_who_may_read_the_metrics(
    access: MetricsAccess, auth: AuthMode, user: str | None, status: int
) -> None:
    with EmbeddedHub.open("memory://") as hub:
        env, _ = make_auth_env(hub)
        app = create_app(hub, auth=AuthConfig(auth), metrics=access)
        with TestClient(app) as client:
            reply = client.get("/metrics", headers=env.as_user(user))
    assert reply.status_code == status
    if status == 200:
        assert "voxhub_http_requests_total" in reply.text
    elif access == "admin":
        assert "GET /metrics" in reply.json()["error"]


def test_refusals_are_counted_under_their_route() -> None:
    with EmbeddedHub.open("memory://") as hub:
        env, config = make_auth_env(hub)
        with TestClient(create_app(hub, auth=config)) as client:
            assert client.post("/api/repos", json={"alias": "x"}).status_code == 401
            reader = env.as_user("reader")
            assert client.post("/api/repos", json={}, headers=reader).status_code == 403
            assert client.delete("/api/repos/info", headers=reader).status_code == 405
            assert client.post("/api/repos/", json={}).status_code == 401  # trailing slash
            found = scrape(client)
    assert value(found, REQUESTS, method="POST", route="/api/repos", status="401") == 2
    assert value(found, REQUESTS, method="POST", route="/api/repos", status="403") == 1
    assert value(found, REQUESTS, method="DELETE", route="/api/repos/info", status="405") == 1
