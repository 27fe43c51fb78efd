"""The header deadline of ``voxhub.server.protocol``, on both of uvicorn's HTTP/1.1
implementations (httptools, used when installed, and the pure-Python h11 fallback):
a connection whose headers are not complete in time is closed, a request whose headers
arrived is served, and the deadline starts again for the next request."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn

from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.protocol import HEADER_TIMEOUT_ENV

PROTOCOLS = [
    "voxhub.server.protocol:H11WithHeaderDeadline",
    "voxhub.server.protocol:HttpToolsWithHeaderDeadline",
]
HEARTBEAT = b"GET /api/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(params=PROTOCOLS, ids=["h11", "httptools"])
def port(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A uvicorn server in a thread, on a socket bound before it starts (connections wait
    in the backlog until it accepts them: nothing to poll for)."""
    monkeypatch.setenv(HEADER_TIMEOUT_ENV, "0.5")
    hub = EmbeddedHub.open("memory://")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    config = uvicorn.Config(
        create_app(hub), http=request.param, log_level="warning", timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]})
    thread.start()
    yield listener.getsockname()[1]
    server.should_exit = True
    thread.join()
    listener.close()
    hub.close()


def read_to_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_unfinished_headers_are_cut_and_finished_ones_served(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
        slow.sendall(b"GET /api/heartbeat HTTP/1.1\r\nHost: 1")
        assert read_to_eof(slow) == b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as fine:
        fine.sendall(HEARTBEAT)
        # served, then the next request's headers are due within the deadline too
        # (keep-alive is 30 s here: the deadline is what closes the connection)
        answer = read_to_eof(fine)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"OK")
