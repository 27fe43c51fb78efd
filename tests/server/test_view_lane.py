"""View files sent by the HTTP protocol itself (``voxhub.server.view_lane``): over real
uvicorn servers, the lane sends exactly the bytes the app would, only for requests the
replay would answer, and does the outer layers' work (request id, Host check, request
records); everything else takes the ASGI path, in order.

The property test drives two servers on one store, one with the lane and one with no
replay at all, with view requests of every kind under many header sets between writes,
merges and commits: every answer must be the same, on the wire.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.server.prometheus_text import samples, value
from tests.server.test_view_replay import HEADER_SETS, Volumes, _scale_key

from voxhub.cache_stats import snapshot
from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.protocol import HTTP_PROTOCOL, lane_of

pytestmark = pytest.mark.skipif(
    not HTTP_PROTOCOL.endswith("HttpToolsWithHeaderDeadline"), reason="httptools missing"
)
#: headers that differ between two answers of the same file: made per request
PER_REQUEST = {"date", "x-request-id"}
ROUTE = "/precomputed/{uuid}/{instance}/{scale_key}/{chunk}"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@contextmanager
def serving(app: Any) -> Iterator[int]:
    """``app`` served by uvicorn with voxhub's protocol in a thread; its port (the socket
    is bound and listening first: connections wait in the backlog, nothing to poll)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    config = uvicorn.Config(app, http=HTTP_PROTOCOL, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


def request(path: str, headers: dict[str, str] | None = None, *, method: str = "GET") -> bytes:
    headers = {"Host": "127.0.0.1", **(headers or {})}
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {v}" for name, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Connection:
    """One keep-alive connection, answers read one by one off the socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> bool:
        data = self.sock.recv(1 << 16)
        self.buffer += data
        return bool(data)

    def reply(self, *, head_only: bool = False) -> Reply:
        while b"\r\n\r\n" not in self.buffer:
            assert self._more(), "connection closed before an answer"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, v = line.partition(":")
            assert name.lower() not in headers, f"header {name} twice"
            headers[name.lower()] = v.strip()
        size = 0 if head_only else int(headers.get("content-length", "0"))
        while len(self.buffer) < size:
            assert self._more(), "connection closed within a body"
        body, self.buffer = self.buffer[:size], self.buffer[size:]
        return Reply(int(status_line.split()[1]), headers, body)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        self.send(request(path, headers))
        return self.reply()

    def closed(self) -> bool:
        return self.buffer == b"" and not self._more()


def same(a: Reply, b: Reply) -> None:
    assert (a.status, a.body) == (b.status, b.body)
    assert {k: v for k, v in a.headers.items() if k not in PER_REQUEST} == {
        k: v for k, v in b.headers.items() if k not in PER_REQUEST
    }


def lane_hits() -> int:
    return snapshot().get("view_lane", (0, 0))[0]


def sent_again_by_the_lane(conn: Connection, path: str) -> Reply:
    """Ask ``path`` twice on ``conn``: the second answer must be the lane's, the same as
    the first; the first."""
    first = conn.get(path)
    hits = lane_hits()
    same(conn.get(path), first)
    assert lane_hits() == hits + 1
    return first


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Volumes]:
    with EmbeddedHub.open(str(tmp_path_factory.mktemp("lane") / "store")) as hub:
        yield Volumes(hub)


@pytest.fixture(scope="module")
def ports(volumes: Volumes) -> Iterator[tuple[int, int]]:
    """(a server with the lane, one without any replay) on the same store."""
    with (
        serving(create_app(volumes.hub, allowed_hosts=())) as lane,
        serving(create_app(volumes.hub, allowed_hosts=(), view_replay=False)) as whole,
    ):
        yield lane, whole


def chunk(volumes: Volumes, name: str = "seg", *, leaf: bool = False) -> str:
    ref = (volumes.leaf if leaf else volumes.root).uuid
    return f"/precomputed/{ref}/{name}/{_scale_key(volumes.hub, ref, name)}/0-16_0-16_0-16"


steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("get"),
            st.integers(0, 10_000),
            st.lists(st.sampled_from(range(len(HEADER_SETS))), min_size=1, max_size=3),
        ),
        st.tuples(st.just("change"), st.integers(0, 3), st.just([])),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_what_the_lane_sends_is_what_the_app_sends(
    volumes: Volumes, ports: tuple[int, int], steps: list[tuple[str, int, list[int]]]
) -> None:
    lane, whole = Connection(ports[0]), Connection(ports[1])
    asked: list[tuple[str, dict[str, str]]] = []

    def ask(path: str, headers: dict[str, str]) -> None:
        for _ in range(2):  # the second may be the lane's
            same(lane.get(path, headers), whole.get(path, headers))

    try:
        for kind, n, header_sets in steps:
            if kind == "change":  # everything asked so far is asked again after it
                volumes.change(n)
                for asking in asked:
                    ask(*asking)
                continue
            paths = volumes.paths()
            for at in header_sets:
                asked.append((paths[n % len(paths)], HEADER_SETS[at]))
                ask(*asked[-1])
    finally:
        lane.close()
        whole.close()


def test_a_file_asked_again_is_sent_by_the_lane_and_recorded(tmp_path: Any) -> None:
    with EmbeddedHub.open(str(tmp_path / "store")) as hub, serving(create_app(hub)) as port:
        path = chunk(Volumes(hub))  # never asked before
        conn = Connection(port)
        try:
            before = samples(conn.get("/metrics").body.decode())
            misses = snapshot().get("view_replay", (0, 0))[1]
            first = conn.get(path)
            assert snapshot()["view_replay"][1] == misses + 1  # counted once, not by the lane
            hits = lane_hits()
            again = conn.get(path, {"X-Request-ID": "trace-42"})
            third = conn.get(path, {"X-Request-ID": "not sane!"})
            assert lane_hits() == hits + 2
            same(again, first)
            same(third, first)
            assert again.headers["x-request-id"] == "trace-42"  # echoed, as Observe does
            assert re.fullmatch("[0-9a-f]{32}", third.headers["x-request-id"])
            assert third.headers["x-request-id"] != first.headers["x-request-id"]
            after = samples(conn.get("/metrics").body.decode())
        finally:
            conn.close()
        labels = {"method": "GET", "route": ROUTE, "status": "200"}
        counted = value(after, "voxhub_http_requests_total", **labels)
        assert counted == value(before, "voxhub_http_requests_total", **labels) + 3


def test_a_byte_range_asked_again_is_sent_by_the_lane(
    volumes: Volumes, ports: tuple[int, int]
) -> None:
    path = chunk(volumes, "em")
    conn = Connection(ports[0])
    try:
        whole = conn.get(path)
        ranges = {"bytes=0-99": whole.body[:100], "bytes=-7": whole.body[-7:]}
        first = {wanted: conn.get(path, {"Range": wanted}) for wanted in ranges}
        hits = lane_hits()
        again = {wanted: conn.get(path, {"Range": wanted}) for wanted in ranges}
        past_end = [conn.get(path, {"Range": f"bytes={len(whole.body)}-"}) for _ in range(2)]
    finally:
        conn.close()
    assert lane_hits() == hits + len(ranges)  # the 416s are never kept
    for wanted, body in ranges.items():
        assert (again[wanted].status, again[wanted].body) == (206, body)
        same(again[wanted], first[wanted])
    assert [r.status for r in past_end] == [416, 416]


def test_requests_the_lane_leaves_to_the_app(volumes: Volumes, ports: tuple[int, int]) -> None:
    path = chunk(volumes)
    conn = Connection(ports[0])
    try:
        whole = conn.get(path)
        conn.get(path)
        hits = lane_hits()
        ranged = conn.get(path, {"Range": "bytes=1-9"})  # asked for the first time
        assert (ranged.status, ranged.body) == (206, whole.body[1:10])
        conn.send(request(path, method="HEAD"))
        head = conn.reply(head_only=True)
        assert head.status == 200
        assert head.headers["content-length"] == str(len(whole.body))
        assert conn.get(path, {"X-Forwarded-For": "10.1.2.3"}).status == 200
        assert lane_hits() == hits  # none of them was the lane's
        last = conn.get(path, {"Connection": "close"})
        assert (last.status, last.body) == (200, whole.body)
        assert last.headers["connection"] == "close"
        assert conn.closed()
    finally:
        conn.close()
    with socket.create_connection(("127.0.0.1", ports[0]), timeout=30) as old:
        old.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while part := old.recv(1 << 16):
            data += part
        assert data.startswith(b"HTTP/1.1 200 ")
        assert data.endswith(whole.body)
    assert lane_hits() == hits


def test_pipelined_requests_are_answered_in_order(volumes: Volumes, ports: tuple[int, int]) -> None:
    em, seg = chunk(volumes, "em"), chunk(volumes, "seg")
    conn = Connection(ports[0])
    try:
        em_body, seg_body = conn.get(em).body, conn.get(seg).body
        hits = lane_hits()
        conn.send(request(em) + request(seg) + request(em))  # one packet
        held = [conn.reply() for _ in range(3)]
        assert lane_hits() == hits + 3
        # the app's answer (a range) first: those after it wait for it, in order
        conn.send(request(seg, {"Range": "bytes=-4"}) + request(em) + request(seg) + request(em))
        replies = [conn.reply() for _ in range(4)]
    finally:
        conn.close()
    assert [r.body for r in held] == [em_body, seg_body, em_body]
    assert [r.status for r in replies] == [206, 200, 200, 200]
    assert replies[0].body == seg_body[-4:]
    assert [r.body for r in replies[1:]] == [em_body, seg_body, em_body]


def test_a_refused_host_is_refused_though_its_file_is_kept(tmp_path: Any) -> None:
    with EmbeddedHub.open(str(tmp_path / "store")) as hub:
        volumes = Volumes(hub)
        path = chunk(volumes)
        app = create_app(hub, allowed_hosts=("voxhub.example",))
        with serving(app) as port:
            conn = Connection(port)
            try:
                sent_again_by_the_lane(conn, path)
                hits = lane_hits()
                refused = conn.get(path, {"Host": "attacker.example"})
            finally:
                conn.close()
    assert refused.status == 421
    assert lane_hits() == hits


def test_an_open_nodes_file_is_sent_again_only_until_a_write(tmp_path: Any) -> None:
    with EmbeddedHub.open(str(tmp_path / "store")) as hub:
        volumes = Volumes(hub)
        path = chunk(volumes, "em", leaf=True)
        with serving(create_app(hub)) as port:
            conn = Connection(port)
            try:
                first = sent_again_by_the_lane(conn, path)
                hits = lane_hits()
                volumes.change(0)  # writes em in the open leaf
                changed = conn.get(path)
                same(conn.get(path), changed)
            finally:
                conn.close()
    assert changed.status == 200
    assert changed.body != first.body
    assert lane_hits() == hits + 1  # the stale answer was not sent; the new one was


def test_the_lane_is_found_through_uvicorns_wrappers_and_absent_with_auth() -> None:
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    with EmbeddedHub.open("memory://") as hub:
        app = create_app(hub)
        assert lane_of(ProxyHeadersMiddleware(app)) is app.state.view_lane is not None
        assert lane_of(create_app(hub, view_replay=False)) is None
        assert lane_of(object()) is None
