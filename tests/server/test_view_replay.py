"""View files sent again past the middleware (``voxhub.server.view_replay``) are exactly
what the whole stack would send, and stop being sent the moment that changes.

The property test drives two apps on one store, one replaying and one not, with view
requests of every kind (committed and open nodes, branch and prefix references, bodies and
supervoxels, precomputed and Zarr, absent chunks) under many header sets and from local
and remote peers, between writes, merges and commits: every answer must be the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send
from tests.server.asgi_call import Answer, acall, call
from tests.server.auth_env import open_auth_env
from tests.server.prometheus_text import samples, value

from voxhub.cache_stats import snapshot
from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.local_peer import sent_locally
from voxhub.server.view_replay import ViewReplay, note_names, note_replayable, replay_key
from voxhub.storage.memory import MemoryStore

HEADER_SETS: list[dict[str, str]] = [
    {},
    {"accept-encoding": "gzip"},
    {"accept-encoding": "zstd, gzip", "user-agent": "tensorstore", "cache-control": "no-cache"},
    {"accept-encoding": "identity"},
    {"origin": "https://neuroglancer-demo.appspot.com", "sec-fetch-mode": "cors"},
    {"range": "bytes=0-9"},
    {"range": "bytes=-5"},
    {"if-none-match": "*"},
    {"x-forwarded-for": "10.9.8.7", "accept-encoding": "gzip"},
    {"authorization": "Bearer whatever"},
]
PEERS = ["127.0.0.1", "192.0.2.7"]


class Volumes:
    """A repo with an image and a label instance: a committed root, an open child."""

    def __init__(self, hub: EmbeddedHub) -> None:
        self.hub = hub
        self.root = hub.create_repo("replay").master
        em = self.root.create_volume("em", "uint8", block_shape=(16, 16, 16))
        em[0:16, 0:16, 0:16] = np.arange(16**3, dtype=np.uint32).reshape((16,) * 3) % 251
        seg = self.root.create_labels("seg", block_shape=(16, 16, 16))
        labels = np.full((16, 16, 16), 5, np.uint64)
        labels[:, :, 8:] = 6
        seg[0:16, 0:16, 0:16] = labels
        self.root.commit("first")
        self.leaf = self.root.newversion("second")
        self.writes = 0

    def paths(self) -> list[str]:
        root, leaf = self.root.uuid, self.leaf.uuid
        out = []
        for ref in (root, leaf, f"{root}:master", leaf[:12]):
            for name in ("em", "seg"):
                key = _scale_key(self.hub, ref, name)
                out += [
                    f"/precomputed/{ref}/{name}/{key}/0-16_0-16_0-16",
                    f"/precomputed/{ref}/{name}/{key}/16-32_0-16_0-16",  # absent: 404
                    f"/zarr/{ref}/{name}/s0/c/0/0/0",
                ]
            out.append(f"/precomputed/{ref}/seg/supervoxels/{key}/0-16_0-16_0-16")
        return out

    def change(self, kind: int) -> None:
        """One of the changes the answers must follow."""
        self.writes += 1
        leaf = self.leaf
        if kind == 0:
            leaf.volume("em")[0:16, 0:16, 0:4] = self.writes % 200
        elif kind == 1:
            leaf.labels("seg")[0:16, 0:4, 0:16] = np.uint64(100 + self.writes)
        elif kind == 2:  # two new bodies, then merged: only the mapping changes last
            seg = leaf.labels("seg")
            a = 1000 + 2 * self.writes
            slab = np.full((16, 4, 16), a, np.uint64)
            slab[:, :, 8:] = a + 1
            seg[0:16, 8:12, 0:16] = slab
            seg.merge(a, [a + 1])
        else:  # the branch moves on; the old leaf's answers become immutable
            leaf.commit(f"step {self.writes}")
            self.leaf = self.hub.node(leaf.uuid).newversion(f"after {self.writes}")


def _scale_key(hub: EmbeddedHub, ref: str, name: str) -> str:
    app = create_app(hub)
    info = call(app, "GET", f"/precomputed/{ref}/{name}/info")
    key: str = json.loads(info.body)["scales"][0]["key"]
    return key


def _same(replayed: Answer, whole: Answer) -> None:
    assert replayed.status == whole.status
    assert replayed.body == whole.body
    drop = {"x-request-id"}
    assert {k: v for k, v in replayed.headers.items() if k not in drop} == {
        k: v for k, v in whole.headers.items() if k not in drop
    }


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Volumes]:
    with EmbeddedHub.open(str(tmp_path_factory.mktemp("replay") / "store")) as hub:
        yield Volumes(hub)


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("get"),
            st.integers(0, 10_000),
            st.lists(st.sampled_from(range(len(HEADER_SETS))), min_size=1, max_size=4),
            st.sampled_from(PEERS),
        ),
        st.tuples(st.just("change"), st.integers(0, 3), st.just([]), st.just("")),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_a_replayed_answer_is_what_the_whole_stack_sends(
    volumes: Volumes, steps: list[tuple[str, int, list[int], str]]
) -> None:
    replaying = create_app(volumes.hub)
    whole = create_app(volumes.hub, view_replay=False)

    asked: list[tuple[str, dict[str, str], str]] = []

    def ask(path: str, headers: dict[str, str], peer: str) -> None:
        for _ in range(2):  # the second may be a replay
            got = call(replaying, "GET", path, headers, client=peer)
            _same(got, call(whole, "GET", path, headers, client=peer))

    for kind, n, header_sets, peer in steps:
        if kind == "change":  # everything asked so far is asked again after it
            volumes.change(n)
            for request in asked:
                ask(*request)
            continue
        paths = volumes.paths()
        for at in header_sets:  # one file under several header sets, one after the other
            asked.append((paths[n % len(paths)], HEADER_SETS[at], peer))
            ask(*asked[-1])


def test_a_view_file_asked_again_is_replayed_and_counted_under_its_route(
    volumes: Volumes,
) -> None:
    app = create_app(volumes.hub)
    key = _scale_key(volumes.hub, volumes.root.uuid, "seg")
    path = f"/precomputed/{volumes.root.uuid}/seg/{key}/0-16_0-16_0-16"
    hits = snapshot().get("view_replay", (0, 0))[0]
    first = call(app, "GET", path)
    for _ in range(3):
        _same(call(app, "GET", path), first)
    assert snapshot()["view_replay"][0] == hits + 3
    found = samples(call(app, "GET", "/metrics").body.decode())
    route = "/precomputed/{uuid}/{instance}/{scale_key}/{chunk}"
    assert value(found, "voxhub_http_requests_total", method="GET", route=route, status="200") == 4
    assert value(found, "voxhub_cache_hits_total", cache="view_replay") >= 3


def test_nothing_is_replayed_with_authentication_on() -> None:
    with open_auth_env() as env:
        reader = env.as_user("reader")
        info = env.client.get(f"/precomputed/{env.uuid}/gray/info", headers=reader)
        path = f"/precomputed/{env.uuid}/gray/{info.json()['scales'][0]['key']}/0-8_0-8_0-8"
        hits = snapshot().get("view_replay", (0, 0))[0]
        for _ in range(3):
            assert env.client.get(path, headers=reader).status_code == 200
        assert env.client.get(path).status_code in (401, 403)  # anonymous, after those
        assert snapshot().get("view_replay", (0, 0))[0] == hits


# -- the middleware alone --------------------------------------------------------------------
def _app(bodies: dict[str, bytes], *, status: int = 200, note: bool = True, parts: int = 1) -> Any:
    store = MemoryStore()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        app.calls += 1  # type: ignore[attr-defined]
        if note:
            note_names(scope, lambda: True)
            note_replayable(scope, store, committed=False, marker=store.change_marker())
        await send({"type": "http.response.start", "status": status, "headers": []})
        body = bodies[scope["path"]]
        size = -(-len(body) // parts)
        for i in range(parts):
            piece = body[i * size : (i + 1) * size]
            await send({"type": "http.response.body", "body": piece, "more_body": i < parts - 1})

    app.calls = 0  # type: ignore[attr-defined]
    app.store = store  # type: ignore[attr-defined]
    return app


def _get(app: Any, path: str, headers: dict[str, str] | None = None) -> Answer:
    return call(app, "GET", path, headers)


def test_the_replay_keeps_within_its_budget_dropping_the_least_recently_sent() -> None:
    bodies = {f"/zarr/{i}": bytes([i]) * 100 for i in range(8)}
    inner = _app(bodies)
    replay = ViewReplay(inner, max_bytes=8 * 1000)  # room for every answer and its key
    small = ViewReplay(inner, max_bytes=16 * 100 - 1)  # none fits its share
    for path in bodies:
        assert _get(replay, path).body == bodies[path]
        assert _get(small, path).body == bodies[path]
    calls = inner.calls
    for path in bodies:
        assert _get(replay, path).body == bodies[path]
    assert inner.calls == calls  # all replayed
    _get(small, "/zarr/0")
    assert inner.calls == calls + 1  # too large for its share: never kept

    inner.store.put(b"k", b"v")  # a write: nothing may be replayed
    for path in bodies:
        assert _get(replay, path).body == bodies[path]
    assert inner.calls == calls + 1 + len(bodies)


@pytest.mark.parametrize(
    ("kwargs", "path", "headers"),
    [
        ({"status": 404}, "/zarr/a", {}),
        ({"status": 416}, "/zarr/a", {"range": "bytes=99-"}),
        ({"note": False}, "/zarr/a", {}),
        ({"parts": 2}, "/zarr/a", {}),
        ({}, "/api/node/a", {}),  # not a view route
        ({}, "/zarr/a", {"if-range": '"tag"', "range": "bytes=0-1"}),
        ({}, "/zarr/a", {"cookie": "session=1"}),
    ],
)
def test_what_is_not_replayed(kwargs: dict[str, Any], path: str, headers: dict[str, str]) -> None:
    inner = _app({path: b"answer"}, **kwargs)
    replay = ViewReplay(inner, max_bytes=1 << 20)
    for _ in range(3):
        assert _get(replay, path, headers).body == b"answer"
    assert inner.calls == 3


def test_the_key_holds_every_header_that_changes_an_answer() -> None:
    def key(headers: list[tuple[bytes, bytes]], peer: str = "127.0.0.1") -> object:
        scope = {"headers": headers, "client": (peer, 1)}
        return replay_key("/zarr/a", b"", headers, lambda: sent_locally(scope))

    plain = key([(b"host", b"x"), (b"user-agent", b"ts"), (b"cache-control", b"no-cache")])
    variants = [
        key([(b"accept-encoding", b"gzip")]),
        key([(b"accept-encoding", b"zstd")]),
        key([(b"origin", b"https://a.org")]),
        key([(b"origin", b"https://b.org")]),
        key([(b"range", b"bytes=0-1")]),
        key([(b"range", b"bytes=-5")]),
        key([], peer="192.0.2.1"),
    ]
    assert plain is not None
    assert None not in variants
    assert len({plain, *variants}) == 1 + len(variants)
    assert key([(b"range", b"bytes=0-1"), (b"range", b"bytes=2-3")]) is None
    for refused in (b"if-range", b"if-none-match", b"authorization", b"x-forwarded-for", b"via"):
        assert key([(refused, b"1")]) is None


def test_a_url_naming_a_uuid_prefix_is_never_replayed(volumes: Volumes) -> None:
    # a prefix may become ambiguous when a node is made in another repo: resolved each time
    app = create_app(volumes.hub)
    prefix = volumes.root.uuid[:12]
    path = f"/precomputed/{prefix}/em/{_scale_key(volumes.hub, prefix, 'em')}/0-16_0-16_0-16"
    hits = snapshot().get("view_replay", (0, 0))[0]
    for _ in range(3):
        assert call(app, "GET", path).status == 200
    assert snapshot().get("view_replay", (0, 0))[0] == hits


def test_endless_query_strings_fill_the_budget_not_the_memory() -> None:
    inner = _app({"/zarr/tiny": b"ok"})
    replay = ViewReplay(inner, max_bytes=64 * 1024)

    async def run() -> None:
        for i in range(2000):
            await acall(replay, "GET", f"/zarr/tiny?junk={i}")

    anyio.run(run)
    assert inner.calls == 2000
    assert replay._bytes <= replay.max_bytes
    assert len(replay._kept) <= replay.max_bytes // 512  # each counts its bookkeeping
