"""Slow and stalled clients against a real ``voxhub serve`` on loopback.

* Stalled uploads cost what they sent, not what they declared: four uploads declaring
  128 MiB boxes each, stalled after 10 bytes, leave the server's RSS (``/proc``) where
  it was. The test knows the route is reading each body because uvicorn answers
  ``Expect: 100-continue`` only when the application first asks for the body.
* A body that stalls gets 408 after ``--body-timeout``, headers that never end are cut
  after ``--header-timeout``, an idle connection after ``--keep-alive-timeout``.
* The Host check and the cross-site rule hold on the real server.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import voxhub
from voxhub.testing.server import ServerProcess, start_server

DECLARED = 512 * 512 * 512  # bytes: a 512³ uint8 box per upload
UPLOADS = 4


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def make_volume(server: ServerProcess) -> str:
    with voxhub.open(server.url) as hub:
        node = hub.create_repo(f"slow-{uuid.uuid4().hex[:8]}").master
        node.create_volume("gray", "uint8", block_shape=(64, 64, 64))
    return f"/api/node/{node.uuid}/gray/raw/0_1_2/512_512_512/0_0_0"


def connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_to_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def upload_head(path: str, length: int, *, expect: bool = True) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    if expect:
        lines.append("Expect: 100-continue")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture(scope="module")
def patient() -> Iterator[ServerProcess]:
    """A server whose timeouts do not interfere with measuring."""
    server = start_server("memory://", extra_args=("--max-large-requests", str(UPLOADS)))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict() -> Iterator[ServerProcess]:
    """A server with short timeouts (long enough for a loaded machine to answer a
    request sent at once) and one allowed host name."""
    args = ("--body-timeout", "1", "--header-timeout", "2", "--keep-alive-timeout", "1")
    server = start_server("memory://", extra_args=(*args, "--allowed-host", "data.lab.org"))
    yield server
    server.stop()


def test_stalled_uploads_cost_no_memory(patient: ServerProcess) -> None:
    path = make_volume(patient)
    before = rss_bytes(patient.process.pid)
    sockets = []
    for _ in range(UPLOADS):
        sock = connect(patient)
        sock.sendall(upload_head(path, DECLARED))
        assert b"100 Continue" in read_until(sock, b"\r\n\r\n")  # the route is reading
        sock.sendall(b"0123456789")
        sockets.append(sock)
    # one more request through the loop, so the 10 bytes have surely been handed over
    assert httpx.get(f"{patient.url}/api/heartbeat").status_code == 200
    grown = rss_bytes(patient.process.pid) - before
    for sock in sockets:
        sock.close()
    assert grown < DECLARED // 8, f"RSS grew by {grown} bytes for {UPLOADS} stalled uploads"


def test_stalled_body_gets_408_and_the_connection_closes(strict: ServerProcess) -> None:
    path = make_volume(strict)
    with connect(strict) as sock:
        sock.sendall(upload_head(path, DECLARED, expect=False) + b"0123456789")
        answer = read_to_eof(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in answer.lower()  # not kept for a body never finished
    assert b"after 10 bytes" in answer


def test_headers_that_never_end_are_cut(strict: ServerProcess) -> None:
    with connect(strict) as slow, connect(strict) as silent:
        slow.sendall(b"GET /api/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        assert read_to_eof(slow) == b""  # closed without an answer
        assert read_to_eof(silent) == b""


def test_idle_keep_alive_connections_are_closed(strict: ServerProcess) -> None:
    with connect(strict) as sock:
        sock.sendall(b"GET /api/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = read_until(sock, b"\r\n\r\nOK")
        assert first.startswith(b"HTTP/1.1 200 ")
        assert read_to_eof(sock) == b""


def test_host_and_cross_site_rules_on_the_real_server(strict: ServerProcess) -> None:
    url = f"{strict.url}/api/repos/info"
    assert httpx.get(url, headers={"Host": "attacker.example"}).status_code == 421
    assert httpx.get(url, headers={"Host": "data.lab.org:8000"}).status_code == 200
    assert httpx.get(url, headers={"Host": "localhost"}).status_code == 200
    forged = httpx.post(
        f"{strict.url}/api/repos",
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
        content=b'{"alias": "forged"}',
    )
    assert forged.status_code == 403
    assert "forged" not in httpx.get(url).text
