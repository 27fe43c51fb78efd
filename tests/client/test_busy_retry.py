"""The remote client and a busy server: 503 + Retry-After is waited out and retried.

A real ``voxhub serve`` admits one large request at a time; a raw socket holds that slot
with an upload stalled after its headers. The client's waits go through
``transport._wait``, which the tests replace with a hook that records the delay asked
for and, when the test says so, finishes the held upload (so the slot frees up between
two attempts, with no timing involved).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import voxhub
from voxhub.client.remote import transport
from voxhub.errors import StorageError
from voxhub.testing.server import ServerProcess, start_server

LARGE = 1000  # bytes: a large request for this server
BOX = (10, 10, 10)  # uint8: exactly LARGE bytes


@pytest.fixture(scope="module")
def busy() -> Iterator[ServerProcess]:
    args = ("--max-large-requests", "1", "--large-request-bytes", str(LARGE))
    server = start_server("memory://", extra_args=args)
    yield server
    server.stop()


class HeldUpload:
    """A large ``POST raw`` whose body is not sent yet: it holds the server's one slot."""

    def __init__(self, server: ServerProcess, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {LARGE}\r\n"
            "Expect: 100-continue\r\n\r\n"
        )
        self.sock.sendall(head.encode())
        assert b"100 Continue" in self._read_head()  # the route took the slot and reads

    def _read_head(self) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data

    def finish(self) -> None:
        self.sock.sendall(b"\7" * LARGE)
        assert b" 200 " in self._read_head().split(b"\r\n")[0]

    def close(self) -> None:
        self.sock.close()


def hook(monkeypatch: pytest.MonkeyPatch, on_wait: Callable[[int], None]) -> list[float]:
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        on_wait(len(waits))

    monkeypatch.setattr(transport, "_wait", wait)
    return waits


@pytest.fixture
def hub(busy: ServerProcess) -> Iterator[voxhub.client.Hub]:
    with voxhub.open(busy.url) as hub:
        yield hub


def volume(hub: voxhub.client.Hub, name: str) -> tuple[voxhub.client.Node, str]:
    node = hub.create_repo(name).master
    node.create_volume("gray", "uint8", block_shape=(8, 8, 8))
    return node, f"/api/node/{node.uuid}/gray/raw/0_1_2/10_10_10/0_0_0"


def test_reads_and_writes_wait_out_a_busy_server(
    busy: ServerProcess, hub: voxhub.client.Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    node, path = volume(hub, "busy-ok")
    vol = node.volume("gray")
    for action in ("write", "read"):  # the write also gives the read a domain
        held = HeldUpload(busy, path)
        try:
            waits = hook(monkeypatch, lambda n, held=held: held.finish() if n == 2 else None)
            if action == "write":  # lands after the held upload's 7s
                vol[0:10, 0:10, 0:10] = np.full(BOX, 3, np.uint8)
                assert np.array_equal(vol[0:10, 0:10, 0:10], np.full(BOX, 3, np.uint8))
            else:  # served after the held upload's 7s landed
                assert np.array_equal(vol[0:10, 0:10, 0:10], np.full(BOX, 7, np.uint8))
        finally:
            held.close()
        assert len(waits) >= 2, action  # refused twice while the upload held the slot
        assert all(w == 2.0 for w in waits), waits  # the server's Retry-After, honoured


def test_a_server_that_stays_busy_gives_a_storage_error(
    busy: ServerProcess, hub: voxhub.client.Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    node, path = volume(hub, "busy-never")
    node.volume("gray")[0:10, 0:10, 0:10] = np.zeros(BOX, np.uint8)
    held = HeldUpload(busy, path)
    try:
        waits = hook(monkeypatch, lambda n: None)
        with pytest.raises(StorageError, match="in flight"):
            node.volume("gray")[0:10, 0:10, 0:10]
        assert len(waits) == transport.BUSY_ATTEMPTS - 1
        held.finish()
    finally:
        held.close()
    assert node.volume("gray")[0:1, 0:1, 0:1].item() == 7  # free again: served at once
