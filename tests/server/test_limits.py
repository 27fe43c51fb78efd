"""Bounded requests through the real app: large-request admission (503 + Retry-After),
the body read timeout (408), JSON size limits, and JSON parsed off the event loop.

Concurrency is arranged with events (a body that arrives only when the test says so),
never with sleeps; the one wait is the body timeout itself, a tenth of a second.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import anyio
import numpy as np
import pytest
from starlette.types import Message

from voxhub.client import EmbeddedHub, Node
from voxhub.datatypes.wire import json_body
from voxhub.server import create_app
from voxhub.server.limits import ServerLimits

from .asgi_call import acall, call

LARGE = 1000  # bytes: a "large" request in these tests


@pytest.fixture
def node() -> Iterator[Node]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("r").master
    node.create_volume("gray", "uint8", block_shape=(8, 8, 8))
    yield node
    hub.close()


def raw(node: Node, shape: tuple[int, int, int] = (10, 10, 10)) -> str:
    x, y, z = shape
    return f"/api/node/{node.uuid}/gray/raw/0_1_2/{x}_{y}_{z}/0_0_0"


def test_large_requests_beyond_the_cap_get_503_with_retry_after(node: Node) -> None:
    limits = ServerLimits(large_request_bytes=LARGE, max_large_requests=1, retry_after=7)
    app = create_app(node.hub, limits=limits)
    answers = {}

    async def scenario() -> None:
        started, go = anyio.Event(), anyio.Event()

        async def slow_body() -> Message:  # the first large write, held mid-upload
            started.set()
            await go.wait()
            return {"type": "http.request", "body": b"\1" * LARGE, "more_body": False}

        async def first() -> None:
            headers = {"Content-Length": str(LARGE)}
            answers["first"] = await acall(app, "POST", raw(node), headers, receive=slow_body)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(first)
            await started.wait()
            declared = {"Content-Length": str(LARGE)}
            answers["write"] = await acall(app, "POST", raw(node), declared, b"\2" * LARGE)
            answers["cutout"] = await acall(app, "GET", raw(node))
            answers["small"] = await acall(app, "GET", raw(node, (2, 2, 2)))
            go.set()
        answers["after"] = await acall(app, "GET", raw(node))

    anyio.run(scenario)
    for refused in ("write", "cutout"):
        answer = answers[refused]
        assert answer.status == 503, refused
        assert answer.headers["retry-after"] == "7"
        error = json.loads(answer.body)
        assert error["type"] == "Overloaded"
        assert "retry in 7 s" in error["error"]
    assert answers["write"].reads == 0  # refused before its body was read
    assert answers["small"].status == 200
    assert answers["first"].status == 200
    assert answers["after"].status == 200  # the slot was given back
    assert np.frombuffer(answers["after"].body, np.uint8).tolist() == [1] * LARGE


def test_a_stalled_body_gets_408_and_writes_nothing(node: Node) -> None:
    app = create_app(node.hub, limits=ServerLimits(body_timeout=0.1))
    sent = False

    async def stalls() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"\1" * 10, "more_body": True}
        await anyio.Event().wait()  # never set: the client went quiet
        raise AssertionError("unreachable")

    headers = {"Content-Length": "1000"}
    answer = anyio.run(lambda: acall(app, "POST", raw(node), headers, receive=stalls))
    assert answer.status == 408
    error = json.loads(answer.body)
    assert error["type"] == "RequestTimeout"
    assert "after 10 bytes" in error["error"]
    assert "--body-timeout" in error["error"]
    assert not node.volume("gray")[0:10, 0:10, 0:10].any()


def test_body_over_the_declared_limit_is_413_unread(node: Node) -> None:
    app = create_app(node.hub, max_request_bytes=999)
    answer = call(app, "POST", raw(node), {"Content-Length": "1000"}, b"\0" * 1000)
    assert answer.status == 413
    assert "999" in json.loads(answer.body)["error"]
    assert answer.reads == 0


def test_json_bodies_have_their_own_smaller_limit(node: Node) -> None:
    app = create_app(node.hub, limits=ServerLimits(max_json_bytes=100))
    note = json.dumps({"note": "x" * 200}).encode()
    answer = call(app, "POST", f"/api/node/{node.uuid}/note", {}, note)
    assert answer.status == 413
    assert "100 bytes" in json.loads(answer.body)["error"]
    assert node.note == ""
    extents = {"MinPoint": [0, 0, 0], "MaxPoint": [9] * 3, "pad": "x" * 200}
    body = json.dumps(extents).encode()
    assert call(app, "POST", f"/api/node/{node.uuid}/gray/extents", {}, body).status == 413


def test_big_json_is_parsed_off_the_event_loop(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small request completes while a large ``labels`` body is being parsed."""
    labels = node.create_labels("seg", block_shape=(8, 8, 8))
    labels[0:8, 0:8, 0:8] = np.full((8, 8, 8), 5, np.uint64)
    points = [[i % 8, (i // 8) % 8, 0] for i in range(20_000)]
    body = json.dumps(points).encode()
    assert len(body) > json_body.INLINE_JSON_BYTES
    parsing, release = threading.Event(), threading.Event()
    loop_was_blocked: list[bool] = []
    real_parse = json_body.parse_json

    def held_parse(raw: bytes, what: str) -> object:
        if len(raw) > json_body.INLINE_JSON_BYTES:
            parsing.set()
            # On the event loop this wait could not end early: the test could not run.
            loop_was_blocked.append(not release.wait(timeout=10))
        return real_parse(raw, what)

    monkeypatch.setattr(json_body, "parse_json", held_parse)
    app = create_app(node.hub)
    answers = {}

    async def scenario() -> None:
        async def big() -> None:
            path = f"/api/node/{node.uuid}/seg/labels"
            answers["big"] = await acall(app, "GET", path, {}, body)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(big)
            await anyio.to_thread.run_sync(parsing.wait, 10)
            answers["small"] = await acall(app, "GET", "/api/server/info")
            release.set()

    anyio.run(scenario)
    assert answers["small"].status == 200
    assert loop_was_blocked == [False]
    assert answers["big"].status == 200
    assert json.loads(answers["big"].body) == [5] * len(points)
